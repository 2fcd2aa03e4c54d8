// `debug` (used by mqtt-packet on every packet) swapped for shims/debug.cjs, which costs nothing
// when off. The compiled binary is built with it (build-binary.ts), and so is what measures its
// hot path (hotpath.ts), or the measurement would include a cost the binary does not have.
import { resolve } from "node:path";

export const debugShim: Bun.BunPlugin = {
  name: "debug-off-unless-DEBUG",
  setup(build) {
    build.onResolve({ filter: /^debug$/ }, () => ({ path: resolve(import.meta.dir, "debug.cjs") }));
  },
};
