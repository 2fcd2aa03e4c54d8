// Measures the pinger's own cost per probe against a bare MQTT.js client doing the same work:
// the same broker and echo (separate processes of ./mqtt-pingpong), the same payloads, the same
// send schedule, in alternating rounds within one run. Prints CPU time per probe in this process
// (the prober's own cost) and the median RTT of each.
//
//   npx bun run build && npx bun scripts/ping-cost.ts [probes per round = 4000] [interval = 0.5ms] [rounds = 3]
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import mqtt from "mqtt";
import { DEFAULT_CONNECT_RETRY_MS, defaultClientId } from "../src/clients/connection";
import { startPing } from "../src/clients/ping";
import { parseDurationMs } from "../src/core/duration";
import { buildProbePayload, formatTimestamp, timestampDecimals } from "../src/core/payload";
import { RttStats } from "../src/core/rtt-stats";

const probes = Number(process.argv[2] ?? 4000);
const intervalMs = parseDurationMs(process.argv[3] ?? "0.5ms");
const rounds = Number(process.argv[4] ?? 3);
const binary = resolve(import.meta.dir, "../mqtt-pingpong");

interface Round {
  cpuUsPerProbe: number;
  rtt: RttStats;
}

const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().once("error", fail);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

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

/** A bare MQTT.js client: publish the timestamp, time the echo, nothing else. */
async function bareRound(url: string): Promise<Round> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: defaultClientId("bare") });
  (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  await client.subscribeAsync("/pong");
  const rtt = new RttStats();
  const sentAt = new Map<string, number>();
  const decimals = timestampDecimals(intervalMs);
  let cpuStart = 0;
  let cpuEnd = 0;
  const finished = new Promise<void>((done) => {
    client.on("message", (_topic, payload) => {
      const key = payload.toString("latin1");
      const started = sentAt.get(key);
      if (started === undefined) return;
      rtt.record(performance.now() - started);
      sentAt.delete(key);
      if (rtt.count === probes) {
        cpuEnd = cpuUs();
        done();
      }
    });
  });
  let sent = 0;
  let last = "";
  const startedAt = performance.now();
  cpuStart = cpuUs();
  const send = () => {
    let timestamp = formatTimestamp(performance.timeOrigin + performance.now(), decimals);
    if (timestamp <= last) timestamp = `${last}1`; // unique, as the pinger does
    last = timestamp;
    sentAt.set(timestamp, performance.now());
    client.publish("/ping", buildProbePayload(timestamp, 0), { qos: 0 });
    if (++sent < probes) setTimeout(send, Math.max(0, startedAt + sent * intervalMs - performance.now()));
  };
  send();
  await withDeadline(finished, "bare client");
  await client.endAsync();
  return { cpuUsPerProbe: (cpuEnd - cpuStart) / probes, rtt };
}

/** Our ping role, as `ping --quiet` runs it. */
async function pingerRound(url: string): Promise<Round> {
  let cpuStart = 0;
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
        if (probe.seq === 1) cpuStart = cpuUs();
      },
    },
  );
  let cpuEnd = 0;
  const summary = await withDeadline(
    ping.finished.then((result) => {
      cpuEnd = cpuUs();
      return result;
    }),
    "pinger",
  );
  await ping.stop();
  if (summary.received !== probes) throw new Error(`pinger lost ${probes - summary.received} probes`);
  return { cpuUsPerProbe: (cpuEnd - cpuStart) / probes, rtt: summary.rtt };
}

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  const limitMs = probes * intervalMs + 30_000;
  return Promise.race([promise, new Promise<T>((_, fail) => setTimeout(() => fail(new Error(`${what}: not done after ${limitMs} ms`)), limitMs).unref())]);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const port = await freePort();
const broker = await startProcess(["broker", "--port", String(port)], /Broker listening/);
const echo = await startProcess(["echo", "--port", String(port), "--quiet"], /Subscribed to \/ping/);
try {
  const url = `mqtt://127.0.0.1:${port}`;
  await bareRound(url); // warm-up: JIT, sockets
  await pingerRound(url);
  const bare: Round[] = [];
  const pinger: Round[] = [];
  // Alternate which goes first, so whatever one round leaves behind (garbage, warm caches) falls on both.
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      bare.push(await bareRound(url));
      pinger.push(await pingerRound(url));
    } else {
      pinger.push(await pingerRound(url));
      bare.push(await bareRound(url));
    }
  }
  const row = (name: string, results: Round[]) => {
    const cpu = median(results.map((r) => r.cpuUsPerProbe));
    const p50 = median(results.map((r) => r.rtt.percentileMs(0.5) * 1000));
    console.log(`${name.padEnd(22)} cpu ${cpu.toFixed(1).padStart(6)} µs/probe   rtt p50 ${p50.toFixed(0).padStart(5)} µs   (rounds: ${results.map((r) => r.cpuUsPerProbe.toFixed(1)).join(", ")} µs)`);
    return { cpu, p50 };
  };
  console.log(`${rounds} rounds of ${probes} probes every ${intervalMs} ms, QoS 0, through ./mqtt-pingpong broker + echo on 127.0.0.1`);
  const a = row("bare MQTT.js client", bare);
  const b = row("mqtt-pingpong pinger", pinger);
  // Each pinger round runs next to a bare round, so pairing them cancels most of the drift in machine
  // load between rounds; the median of the paired differences is the figure.
  const cpuDiffs = pinger.map((round, i) => round.cpuUsPerProbe - bare[i]!.cpuUsPerProbe);
  const rttDiffs = pinger.map((round, i) => (round.rtt.percentileMs(0.5) - bare[i]!.rtt.percentileMs(0.5)) * 1000);
  console.log(`paired differences (pinger − bare): cpu ${cpuDiffs.map((d) => d.toFixed(1)).join(", ")} µs; rtt p50 ${rttDiffs.map((d) => d.toFixed(0)).join(", ")} µs`);
  console.log(`pinger's own cost: ${median(cpuDiffs).toFixed(1)} µs CPU per probe (median of paired rounds), ${median(rttDiffs).toFixed(0)} µs on the median RTT`);
  void a;
  void b;
} finally {
  broker.kill();
  echo.kill();
}
process.exit(0);
