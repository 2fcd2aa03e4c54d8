// Runs aedes's own test suite (shipped in its npm package) on the fork in node_modules/aedes:
//   node scripts/aedes-suite.mjs            (npm run test:aedes; CI runs it from .ci/run)
//   node scripts/aedes-suite.mjs qos1.js    (some files only)
// Every file of node_modules/aedes/test except drain-toxiproxy.js, which needs a toxiproxy server,
// under `node --test` as aedes's own `npm run unit` does. Prints one line of totals last:
//   aedes suite: N tests, P pass, F fail, C cancelled, S skipped (T s)
// and fails (exit 1) on any failed or cancelled test, or fewer than MIN_PASSING passing: a whole
// file that stops loading would otherwise only lower the count.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

const MIN_PASSING = 380;
const PER_TEST_TIMEOUT_MS = 60_000;
const NEEDS_TOXIPROXY = new Set(["drain-toxiproxy.js"]);

const root = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const aedesDir = join(root, "node_modules", "aedes");
const asked = process.argv.slice(2);
const files = (asked.length > 0 ? asked : readdirSync(join(aedesDir, "test")).filter((file) => /\.(c?js)$/.test(file)).sort())
  .filter((file) => !NEEDS_TOXIPROXY.has(file))
  .map((file) => join("test", file));

const started = performance.now();
const child = spawn(process.execPath, ["--test", `--test-timeout=${PER_TEST_TIMEOUT_MS}`, "--test-reporter=tap", ...files], {
  cwd: aedesDir,
  stdio: ["ignore", "pipe", "inherit"],
});
let tap = "";
child.stdout.setEncoding("utf8");
child.stdout.on("data", (chunk) => {
  tap += chunk;
  process.stdout.write(chunk);
});
const status = await new Promise((done) => child.on("close", (code, signal) => done(signal ? 1 : code)));

// node --test ends its TAP output with "# tests N", "# pass N", ... for the whole run.
const total = (name) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, "m"))?.[1] ?? NaN);
const counts = { tests: total("tests"), pass: total("pass"), fail: total("fail"), cancelled: total("cancelled"), skipped: total("skipped") };
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `aedes suite: ${counts.tests} tests, ${counts.pass} pass, ${counts.fail} fail, ${counts.cancelled} cancelled, ${counts.skipped} skipped (${seconds} s)`,
);
const enough = asked.length > 0 || counts.pass >= MIN_PASSING;
if (Number.isNaN(counts.tests) || counts.fail > 0 || counts.cancelled > 0 || !enough || status !== 0) {
  if (!enough) console.log(`aedes suite: fewer than ${MIN_PASSING} tests passed`);
  process.exit(1);
}
