// Builds ./mqtt-pingpong once per test run when any source is newer than the binary.
import { afterEach } from "bun:test";
import { stopStartedProcesses } from "./e2e/harness";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const binary = join(root, "mqtt-pingpong");

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const stale =
  !existsSync(binary) ||
  statSync(binary).mtimeMs <
    Math.max(newestSourceMtime(join(root, "src")), newestSourceMtime(join(root, "patches")), statSync(join(root, "package.json")).mtimeMs);
if (stale) {
  const build = Bun.spawnSync([process.execPath, "scripts/build-binary.ts"], { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (build.exitCode !== 0) throw new Error("building ./mqtt-pingpong failed");
}

// Every test stops the processes it started (see stopStartedProcesses); a hook in the preload applies
// to every test file.
afterEach(stopStartedProcesses);
