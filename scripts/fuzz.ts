// bun run fuzz -- --iterations N --seed S: malformed MQTT against ./mqtt-pingpong broker, with a
// ping/echo pair connected all the while. Exit 0 when the broker survived, closed every bad
// connection as the spec asks, stayed within its memory bound and the pair lost nothing; else 1.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { describeCase, runFuzz } from "./lib/fuzz/driver";
import { FUZZ_ACL } from "./lib/fuzz/identity-inputs";
import { childLines } from "./child-lines";
import { rssMb } from "../src/bench/rss";

const { values } = parseArgs({
  options: {
    iterations: { type: "string", default: "20000" },
    seed: { type: "string" },
    first: { type: "string", default: "0" },
    concurrency: { type: "string", default: "48" },
    "max-rss-growth": { type: "string", default: "64" },
    json: { type: "boolean", default: false },
  },
});
const integer = (name: string, text: string) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`error: --${name} must be a non-negative integer, not "${text}"`);
    process.exit(2);
  }
  return value;
};
const iterations = integer("iterations", values.iterations!);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : integer("seed", values.seed);
const first = integer("first", values.first!);
const concurrency = Math.max(1, integer("concurrency", values.concurrency!));
const maxGrowthMb = integer("max-rss-growth", values["max-rss-growth"]!);

const binary = resolve(import.meta.dir, "../mqtt-pingpong");
if (!existsSync(binary)) {
  console.error("error: ./mqtt-pingpong not found; run `npm run build` first");
  process.exit(2);
}

const children: Array<ReturnType<typeof Bun.spawn>> = [];
function spawn(...args: string[]) {
  const child = Bun.spawn([binary, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  children.push(child);
  return child;
}
const stopAll = () => children.forEach((child) => child.kill("SIGKILL"));
process.on("SIGINT", () => (stopAll(), process.exit(130)));

const lines = childLines;


// Under an ACL with %u/%c patterns, so the ACL-shaped identities meet the access checks.
const aclFile = join(mkdtempSync(join(tmpdir(), "fuzz-acl-")), "acl");
writeFileSync(aclFile, FUZZ_ACL);
const broker = spawn("broker", "--port", "0", "--acl-file", aclFile);
const brokerOut = lines(broker.stdout as ReadableStream<Uint8Array>);
const port = Number(/127\.0\.0\.1:(\d+)/.exec(await brokerOut.waitFor(/Broker listening on/, 10_000))![1]);
const echo = spawn("echo", "--port", String(port), "--qos", "1", "--quiet");
await lines(echo.stdout as ReadableStream<Uint8Array>).waitFor(/Subscribed/, 10_000);
const ping = spawn("ping", "--port", String(port), "--qos", "1", "--interval", "20ms", "--json");
const pingOut = lines(ping.stdout as ReadableStream<Uint8Array>);
await pingOut.waitFor(/"seq":1,/, 10_000);

const say = (text: string) => (values.json ? undefined : console.log(text));
say(`fuzzing 127.0.0.1:${port}: ${iterations} inputs from seed ${seed}, ${concurrency} connections at once`);
const rss = [rssMb(broker.pid)];
const report = await runFuzz({
  host: "127.0.0.1",
  port,
  seed,
  first,
  iterations,
  concurrency,
  closeTimeoutMs: 5_000,
  onCase(result, done) {
    if (result.failure) say(`FAIL ${describeCase(result.fuzzCase)}: ${result.failure}`);
    if (done % Math.max(1, Math.floor(iterations / 10)) === 0) {
      rss.push(rssMb(broker.pid));
      say(`${done} inputs, broker RSS ${rss.at(-1)!.toFixed(1)} MB`);
    }
  },
});

// Let the pair answer what was in flight, then count every probe sent during the fuzz.
const probes = () => pingOut.seen.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { type: string; seq: number });
const lastSeq = Math.max(0, ...probes().filter((p) => p.type === "probe").map((p) => p.seq));
await pingOut.waitFor(new RegExp(`"seq":${lastSeq + 25},`), 15_000).catch(() => undefined);
const answered = new Set(probes().filter((p) => p.type === "probe").map((p) => p.seq));
let probesLost = 0;
for (let seq = 1; seq <= lastSeq + 25; seq++) if (!answered.has(seq)) probesLost++;
const duplicates = probes().filter((p) => p.type === "duplicate").length;
const brokerAlive = broker.exitCode === null;
const warmRss = rss[Math.min(2, rss.length - 1)]!;
const growth = rss.at(-1)! - warmRss;
stopAll();

const summary = {
  seed,
  first,
  inputs: report.inputs,
  elapsedMs: Math.round(report.elapsedMs),
  failures: report.failures.length,
  brokerCrashed: !brokerAlive,
  rssMb: rss.map((r) => Math.round(r * 10) / 10),
  rssGrowthAfterWarmupMb: Math.round(growth * 10) / 10,
  pingProbes: lastSeq + 25,
  pingLost: probesLost,
  pingDuplicates: duplicates,
  byKind: report.byKind,
};
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(`--- fuzz seed ${seed}: ${report.inputs} inputs in ${(report.elapsedMs / 1000).toFixed(1)} s ---`);
  for (const [kind, s] of Object.entries(report.byKind).sort()) {
    console.log(`${kind.padEnd(28)} ${String(s.inputs).padStart(7)} inputs, ${s.closed} closed, ${s.withReasonCode} with the 5.0 reason code`);
  }
  console.log(`failures ${report.failures.length}, broker crashed: ${!brokerAlive ? "YES" : "no"}, RSS ${summary.rssMb.join(" → ")} MB (growth after warm-up ${summary.rssGrowthAfterWarmupMb} MB)`);
  console.log(`ping/echo pair: ${summary.pingProbes} probes, ${probesLost} lost, ${duplicates} duplicates`);
}
const ok = report.failures.length === 0 && brokerAlive && growth < maxGrowthMb && probesLost === 0 && duplicates === 0;
if (!ok && report.failures.length > 0) {
  console.error(`replay one case: bun run fuzz -- --seed ${seed} --first ${report.failures[0]!.fuzzCase.index} --iterations 1`);
}
process.exit(ok ? 0 : 1);
