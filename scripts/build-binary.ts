// Builds the single executable ./mqtt-pingpong from src/cli.ts with `bun build --compile`.
import { $ } from "bun";

const outfile = process.argv[2] ?? "./mqtt-pingpong";
const started = performance.now();
// npm does not apply package.json's patchedDependencies; make sure the bundled aedes is patched.
await $`${process.execPath} scripts/apply-patches.mjs`;
await $`bun build --compile --minify --sourcemap src/cli.ts --outfile ${outfile}`.quiet();
console.log(`built ${outfile} in ${Math.round(performance.now() - started)} ms`);
