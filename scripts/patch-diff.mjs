// Writes one patch of a dependency's series from your edits in node_modules, for maintainers:
//   node scripts/patch-diff.mjs aedes patches/aedes/50-will-delay.patch
// The patch is the difference between the package with the series' earlier patches applied and
// node_modules/<package> as it is now with the later ones taken out, so it holds exactly the edits
// not in the others, at its place in the order.
// Edit node_modules/<package> after `npm install` (which applies the series), then run this.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const [name, target] = process.argv.slice(2);
if (!name || !target) fail("usage: node scripts/patch-diff.mjs <package> <patches/<package>/NN-purpose.patch>");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const spec = Object.keys(manifest.patchSeries ?? {}).find((key) => key.slice(0, key.lastIndexOf("@")) === name);
if (!spec) fail(`${name} has no patch series in package.json`);
const seriesDir = manifest.patchSeries[spec];
if (resolve(root, dirname(target)) !== resolve(root, seriesDir)) fail(`${target} is not in ${seriesDir}/`);

const safeName = name.replace("/", "+");
const pristineDir = join(root, "node_modules", ".mqtt-pingpong-patches", "pristine", safeName);
if (!existsSync(pristineDir)) fail("no pristine copy yet: run node scripts/apply-patches.mjs first");

const work = mkdtempSync(join(tmpdir(), "patch-diff-"));
const base = join(work, "a");
const edited = join(work, "b");
cpSync(pristineDir, base, { recursive: true });
cpSync(join(root, "node_modules", name), edited, { recursive: true });
// The patch sits between the ones named before it and the ones after it: its "before" is pristine
// plus the earlier patches, its "after" is node_modules with the later patches taken out again.
const series = readdirSync(join(root, seriesDir)).filter((file) => file.endsWith(".patch")).sort();
const earlier = series.filter((file) => file < basename(target));
const later = series.filter((file) => file > basename(target));
const git = (cwd, args, input) => spawnSync("git", args, { cwd, input, env: { ...process.env, GIT_CEILING_DIRECTORIES: work } });
for (const file of earlier) {
  const applied = git(base, ["apply", "-"], readFileSync(join(root, seriesDir, file)));
  if (applied.status !== 0) fail(`${file} does not apply: ${applied.stderr}`);
}
for (const file of [...later].reverse()) {
  const undone = git(edited, ["apply", "-R", "-"], readFileSync(join(root, seriesDir, file)));
  if (undone.status !== 0) fail(`your edits overlap ${file}, which comes later in the series: change that patch too, or give yours a later number (${undone.stderr})`);
}
// git diff --no-index names files a/<path> b/<path> when run from the folder holding both trees.
const diff = spawnSync("git", ["diff", "--no-index", "--no-color", "--no-prefix", "a", "b"], { cwd: work, encoding: "utf8", maxBuffer: 1 << 28 });
// New files show as "b/x b/x" and deleted ones as "a/x a/x": name both sides a/ and b/ for git apply.
const text = diff.stdout.replace(/^diff --git [ab]\/(\S+) [ab]\/(\S+)$/gm, "diff --git a/$1 b/$2");
if (!text) {
  console.log(`no edits beyond the other patches; ${target} not written`);
} else {
  writeFileSync(join(root, target), text);
  console.log(`wrote ${target} (${text.split("\n").length - 1} lines)`);
  // The series applied in order from pristine must give back exactly what is in node_modules now;
  // otherwise apply-patches.mjs would rebuild something else (and your edits would be overwritten).
  const check = join(work, "check");
  cpSync(pristineDir, check, { recursive: true });
  const all = readdirSync(join(root, seriesDir)).filter((file) => file.endsWith(".patch")).sort();
  for (const file of all) {
    const applied = spawnSync("git", ["apply", "-"], { cwd: check, input: readFileSync(join(root, seriesDir, file)), env: { ...process.env, GIT_CEILING_DIRECTORIES: work } });
    if (applied.status !== 0) fail(`the series does not apply in order at ${file}: ${applied.stderr}(your edits in node_modules/${name} are untouched; renumber or rebase the patches)`);
  }
  const same = spawnSync("git", ["diff", "--no-index", "--quiet", check, join(root, "node_modules", name)], { cwd: work });
  if (same.status !== 0) fail(`the series applied in order does not reproduce node_modules/${name}; your edits there are untouched`);
  console.log(`the series (${all.length} patches) reproduces node_modules/${name}`);
}
rmSync(work, { recursive: true, force: true });

function fail(message) {
  console.error(`patch-diff: ${message}`);
  process.exit(1);
}
