import { expect, test } from "bun:test";
import { join, resolve } from "node:path";

// Bun runs TypeScript without checking its types, so a field renamed in aedes-internals.ts, or an
// argument of the wrong shape, would only show at run time. tsc over the whole project makes it a
// test failure instead (tsconfig.json says what it covers).
test("the project type-checks (tsc --noEmit)", () => {
  const root = resolve(import.meta.dir, "../..");
  const tsc = Bun.spawnSync([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", root], { cwd: root });
  const output = tsc.stdout.toString() + tsc.stderr.toString();
  expect({ exitCode: tsc.exitCode, output }).toEqual({ exitCode: 0, output: "" });
}, 60_000);
