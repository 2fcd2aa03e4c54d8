// Applies the project's fork of its dependencies to node_modules: for each package named in
// package.json's "patchSeries", every `*.patch` in its folder, in file-name order (one patch per
// purpose; docs/aedes-fork.md says why each exists). npm does not know about patches, and bun's
// patchedDependencies holds one file per package, so this script does it for both; it runs at
// postinstall and before every build, and does nothing when the series in place is the current one.
// A pristine copy of each package is kept the first time, so a changed series is applied from scratch.
// Node and Bun both run it; it needs git (or patch) on PATH only when something must be applied.
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// What was applied, kept beside (not inside) the package.
const stateDir = join(root, "node_modules", ".mqtt-pingpong-patches");

for (const [spec, seriesDir] of Object.entries(manifest.patchSeries ?? {})) {
  const at = spec.lastIndexOf("@");
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  const dir = join(root, "node_modules", name);
  if (!existsSync(join(dir, "package.json"))) continue; // not installed (yet)

  const files = readdirSync(join(root, seriesDir)).filter((file) => file.endsWith(".patch")).sort();
  const series = files.map((file) => ({ file: `${seriesDir}/${file}`, text: readFileSync(join(root, seriesDir, file), "utf8") }));
  const fingerprint = series.map(({ file, text }) => `${file} ${hash(text)}`).join("\n") + "\n";

  const safeName = name.replace("/", "+");
  const markerPath = join(stateDir, `${safeName}.applied`);
  const pristineDir = join(stateDir, "pristine", safeName);
  mkdirSync(stateDir, { recursive: true });
  if (existsSync(markerPath) && readFileSync(markerPath, "utf8") === fingerprint) continue;

  if (!existsSync(pristineDir)) {
    // First run over this install: the package is as npm unpacked it, unless an older form of this
    // script patched it in place (one patch file, its text kept as <name>.patch): take that out first.
    const legacyMarker = join(stateDir, `${safeName}.patch`);
    if (existsSync(legacyMarker) && !applyPatch(dir, readFileSync(legacyMarker, "utf8"), ["-R"])) {
      fail(`cannot undo the previous patch of ${name}; run: rm -rf node_modules/${name} && npm install`);
    }
    rmSync(legacyMarker, { force: true });
    const installed = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
    if (installed !== version) fail(`${name} ${installed} is installed but ${seriesDir} is for ${version}`);
    cpSync(dir, pristineDir, { recursive: true });
  } else {
    rmSync(dir, { recursive: true, force: true });
    cpSync(pristineDir, dir, { recursive: true });
  }
  rmSync(markerPath, { force: true });
  for (const { file, text } of series) {
    if (!applyPatch(dir, text, [])) {
      fail(`${file} does not apply over ${name}@${version} and the patches before it; run: rm -rf node_modules/${name} node_modules/.mqtt-pingpong-patches && npm install`);
    }
  }
  writeFileSync(markerPath, fingerprint);
  console.log(`patched ${name}@${version} with ${series.length} patch${series.length === 1 ? "" : "es"} from ${seriesDir}/`);
}

/** git apply (or patch -p1) in the package's directory; true when it succeeded. */
function applyPatch(dir, text, flags) {
  // The ceiling keeps git from finding the enclosing repository, so it patches plain files here.
  const env = { ...process.env, GIT_CEILING_DIRECTORIES: dirname(dir) };
  const git = spawnSync("git", ["apply", ...flags, "-"], { cwd: dir, input: text, encoding: "utf8", env });
  if (!git.error) {
    if (git.status !== 0) process.stderr.write(git.stderr);
    return git.status === 0;
  }
  const reverse = flags.includes("-R") ? ["-R"] : ["--forward"];
  const patch = spawnSync("patch", ["-p1", "-s", ...reverse], { cwd: dir, input: text, encoding: "utf8" });
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
