// bun run soak -- --minutes N: ./mqtt-pingpong broker under pingers and echoers at QoS 0, 1 and 2
// plus constant connection churn, reporting broker RSS over time, loss and p99 RTT. Exit 0 when
// nothing was lost, the broker lived, and its memory stopped growing after warm-up; else 1.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import mqtt from "mqtt";
import { childLines } from "./child-lines";
import { rssMb } from "../src/bench/rss";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    pairs: { type: "string", default: "6" },
    interval: { type: "string", default: "20ms" },
    churn: { type: "string", default: "20" },
    qos: { type: "string", default: "0,1,2" },
    "max-rss-growth": { type: "string", default: "48" },
    json: { type: "boolean", default: false },
  },
});
const number = (name: string, text: string, min: number) => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) {
    console.error(`error: --${name} must be a number ≥ ${min}, not "${text}"`);
    process.exit(2);
  }
  return value;
};
const minutes = number("minutes", values.minutes!, 0.05);
const pairs = Math.floor(number("pairs", values.pairs!, 1));
const intervalMs = number("interval", values.interval!.replace(/ms$/, ""), 1);
const churnPerSecond = number("churn", values.churn!, 0);
const maxGrowthMb = number("max-rss-growth", values["max-rss-growth"]!, 0);
const durationMs = minutes * 60_000;
const qosLevels = values.qos!.split(",").map((q) => {
  if (!["0", "1", "2"].includes(q)) {
    console.error(`error: --qos must list 0, 1 and/or 2, not "${values.qos}"`);
    process.exit(2);
  }
  return q;
});

const binary = resolve(import.meta.dir, "../mqtt-pingpong");
if (!existsSync(binary)) {
  console.error("error: ./mqtt-pingpong not found; run `npm run build` first");
  process.exit(2);
}
const say = (text: string) => values.json || console.log(text);

type Child = ReturnType<typeof Bun.spawn>;
const children: Child[] = [];
const spawn = (...args: string[]) => {
  const child = Bun.spawn([binary, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  children.push(child);
  return child;
};
const stopAll = () => children.forEach((child) => child.kill("SIGKILL"));
process.on("SIGINT", () => (stopAll(), process.exit(130)));


const lines = (child: Child) => childLines(child.stdout as ReadableStream<Uint8Array>);
const broker = spawn("broker", "--port", "0", "--sys-interval", "0");
const port = Number(/127\.0\.0\.1:(\d+)/.exec(await lines(broker).waitFor(/Broker listening on/, 10_000))![1]);
const url = `mqtt://127.0.0.1:${port}`;

// Pairs on their own topics, QoS 0, 1 and 2 in turn; each ping sends exactly --minutes' worth.
const count = String(Math.max(1, Math.floor(durationMs / intervalMs)));
const pings: Array<ReturnType<typeof childLines>> = [];
const pingErrors: Array<ReturnType<typeof childLines>> = [];
for (let i = 0; i < pairs; i++) {
  const topics = ["--ping-topic", `soak/${i}/ping`, "--pong-topic", `soak/${i}/pong`];
  const qos = qosLevels[i % qosLevels.length]!;
  const echo = spawn("echo", "--port", String(port), "--qos", qos, "--quiet", ...topics);
  await lines(echo).waitFor(/Subscribed/, 10_000);
  const ping = spawn("ping", "--port", String(port), "--qos", qos, "--interval", `${intervalMs}ms`, "--count", count, "--json", "--quiet", ...topics);
  pings.push(lines(ping));
  pingErrors.push(childLines(ping.stderr as ReadableStream<Uint8Array>));
}
say(`soak: ${minutes} min on ${url}: ${pairs} ping/echo pairs (QoS ${qosLevels.join("/")}) every ${intervalMs} ms, ${churnPerSecond} connects/s of churn`);

// Churn: short-lived clients that connect, subscribe, publish once and leave (some without DISCONNECT).
let churned = 0;
let churnFailures = 0;
let churning = true;
const churn = (async () => {
  while (churning && churnPerSecond > 0) {
    const n = churned++;
    mqtt
      .connectAsync(url, { protocolVersion: n % 2 ? 5 : 4, clientId: `churn-${n % 500}`, reconnectPeriod: 0, connectTimeout: 5_000 })
      .then(async (client) => {
        await client.subscribeAsync(`churn/${n % 50}/#`, { qos: (n % 3) as 0 | 1 | 2 });
        await client.publishAsync(`churn/${n % 50}/x`, Buffer.alloc(n % 2048, n % 256), { qos: (n % 3) as 0 | 1 | 2, retain: n % 10 === 0 });
        if (n % 4 === 0) client.end(true); // vanish without DISCONNECT
        else await client.endAsync();
      })
      .catch(() => churnFailures++);
    await Bun.sleep(1000 / churnPerSecond);
  }
})();

const started = performance.now();
const samples: Array<{ s: number; rssMb: number }> = [];
const sampleEveryMs = Math.min(10_000, Math.max(1_000, durationMs / 20));
while (performance.now() - started < durationMs) {
  samples.push({ s: Math.round((performance.now() - started) / 1000), rssMb: Math.round(rssMb(broker.pid) * 10) / 10 });
  say(`  t=${samples.at(-1)!.s}s broker RSS ${samples.at(-1)!.rssMb} MB, ${churned} churned connections`);
  await Bun.sleep(sampleEveryMs);
}
churning = false;
await churn;

// Each ping ends by itself after its count (waiting --timeout for the last echoes) with one summary.
const summaries = await Promise.all(
  pings.map(async (ping) => JSON.parse(await ping.waitFor(/"type":"summary"/, 60_000)) as {
    transmitted: number;
    received: number;
    duplicates: number;
    rttMs: { p99: number | null };
  }),
);
samples.push({ s: Math.round((performance.now() - started) / 1000), rssMb: Math.round(rssMb(broker.pid) * 10) / 10 });
const brokerAlive = broker.exitCode === null;
stopAll();

if (!values.json) {
  for (const [i, s] of summaries.entries()) {
    const error = pingErrors[i]!.seen.find((line) => line.startsWith("error:"));
    console.log(`  pair ${i} (QoS ${qosLevels[i % qosLevels.length]}): ${s.transmitted} sent, ${s.received} answered, p99 ${s.rttMs.p99} ms${error ? ` — ${error}` : ""}`);
  }
}
const transmitted = summaries.reduce((sum, s) => sum + s.transmitted, 0);
const lost = summaries.reduce((sum, s) => sum + s.transmitted - s.received, 0);
const duplicates = summaries.reduce((sum, s) => sum + s.duplicates, 0);
const p99 = Math.max(...summaries.map((s) => s.rttMs.p99 ?? 0));
// Warm-up: the first quarter of the run (allocator and JIT settle).
const warm = samples[Math.floor(samples.length / 4)]!.rssMb;
const last = samples.at(-1)!.rssMb;
const peak = Math.max(...samples.map((s) => s.rssMb));
const report = { minutes, pairs, probes: transmitted, lost, duplicates, p99RttMs: p99, churnedConnections: churned, churnFailures, brokerCrashed: !brokerAlive, rssMb: { start: samples[0]!.rssMb, afterWarmup: warm, peak, end: last }, rssGrowthAfterWarmupMb: Math.round((last - warm) * 10) / 10, samples };
if (values.json) console.log(JSON.stringify(report));
else {
  console.log(`--- soak ${minutes} min ---`);
  console.log(`probes ${transmitted}, lost ${lost}, duplicates ${duplicates}, worst p99 RTT ${p99} ms`);
  console.log(`churned connections ${churned} (${churnFailures} failed), broker crashed: ${brokerAlive ? "no" : "YES"}`);
  console.log(`broker RSS start ${report.rssMb.start} MB, after warm-up ${warm} MB, peak ${peak} MB, end ${last} MB (growth after warm-up ${report.rssGrowthAfterWarmupMb} MB)`);
}
process.exit(lost === 0 && brokerAlive && last - warm < maxGrowthMb ? 0 : 1);
