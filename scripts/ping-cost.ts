// Measures the pinger's own cost per probe against a bare MQTT.js client doing the same work:
// the same broker and echo (separate processes of ./mqtt-pingpong), the same payloads, the same
// send schedule, in alternating rounds within one run. Prints CPU time per probe in this process
// (the prober's own cost) and the median RTT of each. A third client, the bare one with the MQTT 5
// properties the pinger's probes carry (Response Topic, Correlation Data), shows what those cost.
//
//   npx bun run build && npx bun scripts/ping-cost.ts [probes per round = 4000] [interval = 0.5ms] [rounds = 3]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import mqtt from "mqtt";
import { DEFAULT_CONNECT_RETRY_MS, defaultClientId } from "../src/clients/connection";
import { startPing } from "../src/clients/ping";
import { parseDurationMs } from "../src/core/duration";
import { buildProbePayload, formatTimestamp, timestampDecimals } from "../src/core/payload";
import { RttStats } from "../src/core/rtt-stats";
import { freePort } from "./lib/net";
import { median } from "./lib/stats";

const probes = Number(process.argv[2] ?? 4000);
const intervalMs = parseDurationMs(process.argv[3] ?? "0.5ms");
const rounds = Number(process.argv[4] ?? 3);
const binary = resolve(import.meta.dir, "../mqtt-pingpong");

interface Round {
  /** CPU time of the whole process (every thread: JS, GC, JIT compiler) per probe. */
  cpuUsPerProbe: number;
  /** CPU time of the JS thread alone per probe: the JIT and GC helper threads add much of the noise. */
  mainThreadUsPerProbe: number;
  rtt: RttStats;
}

interface CpuMark {
  processUs: number;
  mainThreadUs: number;
}

// The JS thread's time on a CPU, in ns, is the first field of its schedstat (Linux).
const mainThreadStat = `/proc/self/task/${process.pid}/schedstat`;
const cpuMark = (): CpuMark => {
  const { user, system } = process.cpuUsage();
  let mainThreadUs = NaN;
  try {
    mainThreadUs = Number(readFileSync(mainThreadStat, "latin1").split(" ")[0]) / 1000;
  } catch {
    // not Linux: only the process figure
  }
  return { processUs: user + system, mainThreadUs };
};

const perProbe = (start: CpuMark, end: CpuMark) => ({
  cpuUsPerProbe: (end.processUs - start.processUs) / probes,
  mainThreadUsPerProbe: (end.mainThreadUs - start.mainThreadUs) / probes,
});

function startProcess(args: string[], ready: RegExp): Promise<ReturnType<typeof spawn>> {
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((done, fail) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk;
      if (ready.test(output)) done(child);
    });
    child.once("exit", (code) => fail(new Error(`${args[0]} exited ${code}: ${output}`)));
  });
}

const correlationData = Buffer.from("0123456789abcdef", "hex");

/** A bare MQTT.js client: publish the timestamp, time the echo, nothing else (with `properties`: and the pinger's MQTT 5 properties). */
async function bareRound(url: string, properties = false): Promise<Round> {
  const publishOptions = properties ? { qos: 0 as const, properties: { responseTopic: "/pong", correlationData } } : { qos: 0 as const };
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: defaultClientId("bare") });
  (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  await client.subscribeAsync("/pong");
  const rtt = new RttStats();
  const sentAt = new Map<string, number>();
  const decimals = timestampDecimals(intervalMs);
  let cpuStart = cpuMark();
  let cpuEnd = cpuStart;
  const finished = new Promise<void>((done) => {
    client.on("message", (_topic, payload) => {
      const key = payload.toString("latin1");
      const started = sentAt.get(key);
      if (started === undefined) return;
      rtt.record(performance.now() - started);
      sentAt.delete(key);
      if (rtt.count === probes) {
        cpuEnd = cpuMark();
        done();
      }
    });
  });
  let sent = 0;
  let last = "";
  const startedAt = performance.now();
  cpuStart = cpuMark();
  const send = () => {
    let timestamp = formatTimestamp(performance.timeOrigin + performance.now(), decimals);
    if (timestamp <= last) timestamp = `${last}1`; // unique, as the pinger does
    last = timestamp;
    sentAt.set(timestamp, performance.now());
    client.publish("/ping", buildProbePayload(timestamp, 0), publishOptions);
    if (++sent < probes) setTimeout(send, Math.max(0, startedAt + sent * intervalMs - performance.now()));
  };
  send();
  await withDeadline(finished, "bare client");
  await client.endAsync();
  return { ...perProbe(cpuStart, cpuEnd), rtt };
}

/** Our ping role, as `ping --quiet` runs it. */
async function pingerRound(url: string): Promise<Round> {
  let cpuStart = cpuMark();
  const ping = await startPing(
    {
      connection: {
        url,
        clientId: defaultClientId("cost"),
        keepaliveSec: 60,
        clean: true,
        protocolVersion: 5,
        connectTimeoutMs: 5000,
        connectRetryMs: DEFAULT_CONNECT_RETRY_MS,
      },
      pingTopic: "/ping",
      pongTopic: "/pong",
      qos: 0,
      intervalMs,
      count: probes,
      timeoutMs: 5000,
      size: 0,
    },
    {
      sent(probe) {
        if (probe.seq === 1) cpuStart = cpuMark();
      },
    },
  );
  let cpuEnd = cpuStart;
  const summary = await withDeadline(
    ping.finished.then((result) => {
      cpuEnd = cpuMark();
      return result;
    }),
    "pinger",
  );
  await ping.stop();
  if (summary.received !== probes) throw new Error(`pinger lost ${probes - summary.received} probes`);
  return { ...perProbe(cpuStart, cpuEnd), rtt: summary.rtt };
}

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  const limitMs = probes * intervalMs + 30_000;
  return Promise.race([promise, new Promise<T>((_, fail) => setTimeout(() => fail(new Error(`${what}: not done after ${limitMs} ms`)), limitMs).unref())]);
}


const port = await freePort();
const broker = await startProcess(["broker", "--port", String(port)], /Broker listening/);
const echo = await startProcess(["echo", "--port", String(port), "--quiet"], /Subscribed to \/ping/);
try {
  const url = `mqtt://127.0.0.1:${port}`;
  const clients: Array<[string, () => Promise<Round>]> = [
    ["bare MQTT.js client", () => bareRound(url)],
    ["bare + MQTT 5 props", () => bareRound(url, true)],
    ["mqtt-pingpong pinger", () => pingerRound(url)],
  ];
  for (const [, run] of clients) await run(); // warm-up: JIT, sockets
  const results: Round[][] = clients.map(() => []);
  // Rotate which goes first, so whatever one round leaves behind (garbage, warm caches) falls on each.
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < clients.length; i++) {
      const index = (round + i) % clients.length;
      results[index]!.push(await clients[index]![1]());
    }
  }
  const us = (value: number) => value.toFixed(1).padStart(6);
  console.log(`${rounds} rounds of ${probes} probes every ${intervalMs} ms, QoS 0, through ./mqtt-pingpong broker + echo on 127.0.0.1`);
  console.log("CPU per probe in the client's process (median of rounds): whole process / JS thread alone; median RTT");
  clients.forEach(([name], i) => {
    const rows = results[i]!;
    const p50 = median(rows.map((r) => r.rtt.percentileMs(0.5) * 1000));
    console.log(`${name.padEnd(22)} cpu ${us(median(rows.map((r) => r.cpuUsPerProbe)))} / ${us(median(rows.map((r) => r.mainThreadUsPerProbe)))} µs   rtt p50 ${p50.toFixed(0).padStart(5)} µs`);
  });
  // Each round of one client runs next to a round of the bare one, so pairing them cancels most of the
  // drift in machine load between rounds; the median of the paired differences is the figure.
  const bare = results[0]!;
  for (let i = 1; i < clients.length; i++) {
    const diffs = (pick: (r: Round) => number) => results[i]!.map((round, n) => pick(round) - pick(bare[n]!));
    const cpu = diffs((r) => r.cpuUsPerProbe);
    const main = diffs((r) => r.mainThreadUsPerProbe);
    const rtt = diffs((r) => r.rtt.percentileMs(0.5) * 1000);
    console.log(`${clients[i]![0]} − bare, paired rounds: process cpu ${cpu.map((d) => d.toFixed(1)).join(", ")} µs; JS thread ${main.map((d) => d.toFixed(1)).join(", ")} µs`);
    console.log(`  → ${median(cpu).toFixed(1)} µs process CPU, ${median(main).toFixed(1)} µs JS-thread CPU per probe, ${median(rtt).toFixed(0)} µs on the median RTT (medians of paired rounds)`);
  }
} finally {
  broker.kill();
  echo.kill();
}
process.exit(0);
