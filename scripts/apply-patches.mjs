// Applies package.json's "patchedDependencies" (made with `bun patch`) to node_modules when the
// install was done by npm, which does not know that field. Run by npm's postinstall and before every
// build; does nothing when the patch is already in place (bun install applies it itself).
// Node and Bun both run it; it needs git (or patch) on PATH only when something must be applied.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// What was applied, kept beside (not inside) the package, so `bun patch` does not see it as a change.
const appliedDir = join(root, "node_modules", ".mqtt-pingpong-patches");

for (const [spec, patchPath] of Object.entries(manifest.patchedDependencies ?? {})) {
  const at = spec.lastIndexOf("@");
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  const dir = join(root, "node_modules", name);
  if (!existsSync(join(dir, "package.json"))) continue; // not installed (yet)
  const installed = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  if (installed !== version) fail(`${name} ${installed} is installed but ${patchPath} is for ${version}`);

  const patch = readFileSync(join(root, patchPath), "utf8");
  const markerPath = join(appliedDir, `${name.replace("/", "+")}.patch`);
  mkdirSync(appliedDir, { recursive: true });
  const applied = existsSync(markerPath) ? readFileSync(markerPath, "utf8") : undefined;
  if (applied === patch) continue;
  if (applyPatch(dir, patch, ["--check", "-R"])) {
    writeFileSync(markerPath, patch); // applied by bun install
    continue;
  }
  // An older version of the patch is in place: take it out first.
  if (applied !== undefined && !applyPatch(dir, applied, ["-R"])) {
    fail(`cannot undo the previous patch of ${name}; run: rm -rf node_modules/${name} && npm install`);
  }
  if (!applyPatch(dir, patch, [])) fail(`${patchPath} does not apply; run: rm -rf node_modules/${name} && npm install`);
  writeFileSync(markerPath, patch);
  console.log(`patched ${name}@${version} with ${patchPath} (${hash(patch)})`);
}

/** git apply (or patch -p1) in the package's directory; true when it succeeded. */
function applyPatch(dir, text, flags) {
  // The ceiling keeps git from finding the enclosing repository, so it patches plain files here.
  const env = { ...process.env, GIT_CEILING_DIRECTORIES: dirname(dir) };
  const git = spawnSync("git", ["apply", ...flags, "-"], { cwd: dir, input: text, encoding: "utf8", env });
  if (!git.error) return git.status === 0;
  const check = flags.includes("--check") ? ["--dry-run"] : [];
  const reverse = flags.includes("-R") ? ["-R"] : ["--forward"];
  const patch = spawnSync("patch", ["-p1", "-s", ...reverse, ...check], { cwd: dir, input: text, encoding: "utf8" });
  if (patch.error) fail("neither git nor patch is installed; one is needed to patch dependencies");
  return patch.status === 0;
}

function hash(text) {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

function fail(message) {
  console.error(`apply-patches: ${message}`);
  process.exit(1);
}
