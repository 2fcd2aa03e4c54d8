// `npm run bench`: our compiled broker side by side with Debian's mosquitto, and a raw TCP echo
// server as the latency floor, in interleaved rounds (A B, B A, ...); medians go to bench/results.*.
//   bun scripts/bench.ts [--quick] [--rounds N] [--protocol 5|3.1.1] [--out DIR] [--baseline BINARY] [--only IDS] [--warmup SECONDS] [--cadence-probes N]
// --baseline adds another build of mqtt-pingpong (e.g. before an optimisation) to every round.
// The cadence scenarios (--only cadence: them alone) are scripts/bench/cadence.ts; they write bench/cadence.*.
// The console scenario (--only console) is scripts/bench/console.ts; it writes bench/console.*.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { renderChart } from "./lib/bench/chart";
import { benchCluster, type ClusterBenchRun } from "./lib/bench/cluster";
import { freePort, waitForPort } from "./lib/net";
import { cpuMsOfPid } from "./lib/process-cpu";
import { median } from "./lib/stats";
import { runCadenceFromBench } from "./bench/cadence";
import { runConsoleFromBench } from "./bench/console";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    protocol: { type: "string", default: "5" },
    out: { type: "string" },
    connections: { type: "string" },
    baseline: { type: "string" },
    only: { type: "string" },
    warmup: { type: "string" },
    "cadence-probes": { type: "string" },
  },
});

const root = resolve(import.meta.dir, "..");
const binary = join(root, "mqtt-pingpong");
const outDir = resolve(flags.out ?? join(root, "bench"));
const quick = flags.quick;
const rounds = Number(flags.rounds ?? (quick ? 1 : 5));
const durationS = quick ? 1 : 4;
// Seconds of traffic before each run's measured part (the broker is started for each run): --warmup.
// The round trips get longer: a fresh broker's JIT compiler thread shares its core and stays busy
// for the first seconds, which a single in-flight message feels and a saturating throughput run does
// not; mosquitto has no such phase (measured in docs/performance-log.md, 65a6565).
const warmupS = Number(flags.warmup ?? (quick ? 0.5 : 1));
const rttWarmupS = Number(flags.warmup ?? (quick ? 0.5 : 5));
const idleConnections = Number(flags.connections ?? (quick ? 1000 : 10_000));
const coldStartSamples = quick ? 2 : 3;

// Pin the broker to the first core and the generator to the last, so they do not share one.
const cores = cpus().length;
const pinned = cores >= 2 && Bun.which("taskset") !== null;
const BROKER_CPU = "0";
const GENERATOR_CPU = String(cores - 1);

function command(cpu: string, argv: string[]): string[] {
  // Raise the open-file limit to the hard limit: 10,000 connections need 10,000 descriptors.
  const pin = pinned ? ["taskset", "-c", cpu] : [];
  return ["sh", "-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", ...pin, ...argv];
}

interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

type Target = "ours" | "mosquitto" | "floor" | "baseline";

function mosquittoConfig(port: number): string {
  const dir = mkdtempSync(join(tmpdir(), "bench-mosquitto-"));
  const path = join(dir, "mosquitto.conf");
  // Its defaults apart from TCP_NODELAY (as our broker sets it) and no persistence (ours keeps none).
  writeFileSync(path, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nmax_queued_messages 100000\n`);
  return path;
}

function argvOf(target: Target, port: number): string[] {
  switch (target) {
    case "ours":
      // No connection cap: mosquitto has none by default, and the idle-connection run opens 10,000.
      return [binary, "broker", "--host", "127.0.0.1", "--port", String(port), "--max-connections", "0"];
    case "mosquitto":
      return ["mosquitto", "-c", mosquittoConfig(port)];
    case "floor":
      return [process.execPath, join(root, "scripts/lib/bench/echo-floor.ts"), String(port)];
    case "baseline":
      return [resolve(flags.baseline!), "broker", "--host", "127.0.0.1", "--port", String(port), "--max-connections", "0"];
  }
}

async function startServer(target: Target, pin = true): Promise<Server & { readyMs: number }> {
  const port = await freePort();
  const argv = argvOf(target, port);
  const startedAt = performance.now();
  const proc = Bun.spawn(pin ? command(BROKER_CPU, argv) : argv, { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
  const readyMs = (await waitForPort(port, { pollMs: 1 })) - startedAt;
  return {
    name: target,
    port,
    pid: proc.pid,
    readyMs,
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(timer);
    },
  };
}

async function runBench(server: Server, argv: string[]): Promise<Record<string, any>> {
  const before = cpuMsOfPid(server.pid);
  const startedAt = performance.now();
  // bench retained reads the broker's CPU for its SUBSCRIBE from /proc.
  if (argv[0] === "retained") argv = [...argv, "--broker-pid", String(server.pid)];
  const proc = Bun.spawn(command(GENERATOR_CPU, [binary, "bench", ...argv, "--url", `mqtt://127.0.0.1:${server.port}`, "--protocol", flags.protocol!, "--json"]), {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const wallMs = performance.now() - startedAt;
  const line = stdout.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) throw new Error(`bench ${argv.join(" ")} against ${server.name} exited ${code}: ${stderr.trim()}`);
  const result = JSON.parse(line);
  result.exitCode = code;
  result.brokerCpuPercent = ((cpuMsOfPid(server.pid) - before) / wallMs) * 100;
  return result;
}

interface Scenario {
  id: string;
  argv: string[];
  targets: Target[];
}

const timingAfter = (warmup: number) => ["--duration", `${durationS}s`, "--warmup", `${warmup}s`];
const timing = timingAfter(warmupS);
const rttTiming = timingAfter(rttWarmupS);
const allScenarios: Scenario[] = [
  { id: "rtt-q0", argv: ["latency", "--qos", "0", ...rttTiming], targets: ["ours", "mosquitto", "floor"] },
  { id: "rtt-q1", argv: ["latency", "--qos", "1", ...rttTiming], targets: ["ours", "mosquitto", "floor"] },
  { id: "pubsub-q0", argv: ["pubsub", "--qos", "0", "--size", "16", ...timing], targets: ["ours", "mosquitto"] },
  { id: "pubsub-q1", argv: ["pubsub", "--qos", "1", "--size", "16", ...timing], targets: ["ours", "mosquitto"] },
  { id: "fan-in", argv: ["pubsub", "--qos", "0", "--publishers", "10", "--subscribers", "1", ...timing], targets: ["ours", "mosquitto"] },
  { id: "fan-out", argv: ["pubsub", "--qos", "0", "--publishers", "1", "--subscribers", "10", ...timing], targets: ["ours", "mosquitto"] },
  { id: "retained", argv: ["retained", "--retained", "20000", "--filters", "2000"], targets: ["ours", "mosquitto"] },
];

const only = flags.only?.split(",");
const brokers: Target[] = flags.baseline ? ["ours", "mosquitto", "baseline"] : ["ours", "mosquitto"];
const scenarios = allScenarios
  .filter((scenario) => !only || only.includes(scenario.id))
  .map((scenario) => ({ ...scenario, targets: flags.baseline ? [...scenario.targets, "baseline" as Target] : scenario.targets }));
const results: Record<string, Record<string, Record<string, any>[]>> = {};
const keep = (id: string, target: string, result: Record<string, any>) => {
  ((results[id] ??= {})[target] ??= []).push(result);
};

const loadBefore = readFileSync("/proc/loadavg", "utf8").trim();
/** The 1-minute load average at the start of each round: how busy the machine was meanwhile. */
const loadSamples: number[] = [];
const started = new Date();
const say = (text: string) => process.stderr.write(`${text}\n`);

const build = spawnSync(process.execPath, ["scripts/build-binary.ts"], { cwd: root, stdio: "inherit" });
if (build.status !== 0) throw new Error("build failed");
if (!Bun.which("mosquitto")) throw new Error("mosquitto is not installed (apt-get install mosquitto)");

const servers = {} as Record<Target, Server>;
for (const target of new Set(scenarios.flatMap((scenario) => scenario.targets))) servers[target] = await startServer(target);
const stopAll = () => Promise.all(Object.values(servers).map((server) => server.stop()));
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));

say(`${rounds} round(s), ${durationS} s per run after ${warmupS} s warm-up (round trips ${rttWarmupS} s), MQTT ${flags.protocol}; broker on CPU ${pinned ? BROKER_CPU : "any"}, generator on CPU ${pinned ? GENERATOR_CPU : "any"}`);
try {
  for (let round = 0; round < rounds; round++) {
    loadSamples.push(Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]));
    // A B in even rounds, B A in odd ones, so a drift in the machine's load hits both alike.
    const order = <T>(items: T[]) => (round % 2 === 0 ? items : [...items].reverse());
    for (const scenario of scenarios) {
      for (const target of order(scenario.targets)) {
        const result = await runBench(servers[target], scenario.argv);
        keep(scenario.id, target, result);
        const summary =
          scenario.argv[0] === "latency"
            ? `p50 ${(result.latency.p50Us / 1000).toFixed(3)} ms, p99 ${(result.latency.p99Us / 1000).toFixed(3)} ms`
            : scenario.argv[0] === "retained"
              ? `SUBACK ${result.subackMs.toFixed(1)} ms, broker CPU ${result.brokerCpuMs?.toFixed(1)} ms, bystander max RTT ${result.bystanderMaxRttMs.toFixed(1)} ms`
              : `${Math.round(result.messagesPerSec)} msg/s, broker CPU ${result.brokerCpuPercent.toFixed(0)}%, generator CPU ${result.generatorCpu.percentOfCore.toFixed(0)}%, lost ${result.lost}`;
        say(`round ${round + 1}/${rounds} ${scenario.id} ${target}: ${summary}`);
      }
    }
    // Idle connections and cold start: a fresh broker each time, so its memory starts from zero.
    for (const target of order(brokers)) {
      if (only && !only.includes("conn")) break;
      const server = await startServer(target);
      try {
        const result = await runBench(server, ["conn", "--connections", String(idleConnections), "--duration", "1s", "--broker-pid", String(server.pid)]);
        keep("conn", target, result);
        say(`round ${round + 1}/${rounds} conn ${target}: ${Math.round(result.connectsPerSec)} conn/s, ${result.broker?.perConnectionKiB.toFixed(2)} KiB each, failed ${result.failed}`);
      } finally {
        await server.stop();
      }
      for (let i = 0; i < coldStartSamples; i++) {
        if (target === "baseline" && !flags.baseline) continue;
        const cold = await startServer(target, false);
        await cold.stop();
        keep("cold-start", target, { readyMs: cold.readyMs });
      }
    }
  }
} finally {
  await stopAll();
}

// Cluster over Redis: 1, 2 and 3 `broker --cluster` nodes and one redis-server (scripts/lib/bench/cluster.ts).
const clusterRuns: ClusterBenchRun[] = [];
if (only && !only.includes("cluster")) {
  // --only without "cluster": skip it.
} else if (Bun.which("redis-server")) {
  for (let round = 0; round < rounds; round++) {
    const counts = round % 2 === 0 ? [1, 2, 3] : [3, 2, 1];
    clusterRuns.push(...(await benchCluster({ binary, nodeCounts: counts, timing, protocol: flags.protocol!, say: (text) => say(`round ${round + 1}/${rounds} ${text}`) })));
  }
} else say("redis-server is not installed: no cluster scenario (apt-get install redis-server)");

await runCadenceFromBench({ binary, outDir, quick, only, probes: flags["cadence-probes"], command: process.argv.slice(2), say });
await runConsoleFromBench({ binary, outDir, quick, rounds, only, command: process.argv.slice(2), say });
if (only && only.every((id) => id === "cadence" || id === "console")) process.exit(0);

// ---- medians, table, files ----
const med = (id: string, target: string, pick: (r: Record<string, any>) => number) => median((results[id]?.[target] ?? []).map(pick));

interface Row {
  metric: string;
  unit: string;
  ours: number;
  mosquitto: number;
  floor?: number;
  /** With --baseline: the other build, and ours/baseline is the gain. */
  baseline?: number;
  /** "lower" or "higher" is better. */
  better: "lower" | "higher";
  /** ours/mosquitto must be within this (ratio targets), or ours itself (absolute targets). */
  target?: { ratio?: number; absolute?: number };
}
const ms = (us: number) => us / 1000;
const both = (id: string, pick: (r: Record<string, any>) => number) => ({
  ours: med(id, "ours", pick),
  mosquitto: med(id, "mosquitto", pick),
  baseline: flags.baseline ? med(id, "baseline", pick) : undefined,
});
const rows: Row[] = [];
for (const [id, label] of [["rtt-q0", "RTT QoS 0"], ["rtt-q1", "RTT QoS 1"]] as const) {
  for (const [p, ratio] of [["p50", 1.1], ["p99", 1.5]] as const) {
    const pick = (r: Record<string, any>) => ms(r.latency[`${p}Us`]);
    rows.push({ metric: `${label} ${p}`, unit: "ms", ...both(id, pick), floor: med(id, "floor", pick), better: "lower", target: { ratio } });
  }
}
const rate = (r: Record<string, any>) => r.messagesPerSec;
rows.push({ metric: "1→1 QoS 0, 16 B", unit: "msg/s", ...both("pubsub-q0", rate), better: "higher", target: { ratio: 0.9 } });
rows.push({ metric: "1→1 QoS 1, 16 B", unit: "msg/s", ...both("pubsub-q1", rate), better: "higher", target: { ratio: 0.8 } });
rows.push({ metric: "fan-in 10→1 QoS 0", unit: "msg/s", ...both("fan-in", rate), better: "higher" });
rows.push({ metric: "fan-out 1→10 QoS 0 (delivered)", unit: "msg/s", ...both("fan-out", rate), better: "higher" });
const retainedLabel = "SUBSCRIBE of 2,000 filters over 20,000 retained";
rows.push({ metric: `${retainedLabel}: broker CPU`, unit: "ms", ...both("retained", (r) => r.brokerCpuMs), better: "lower", target: { absolute: 50 } });
rows.push({ metric: `${retainedLabel}: to SUBACK`, unit: "ms", ...both("retained", (r) => r.subackMs), better: "lower" });
rows.push({ metric: `${retainedLabel}: another client's longest RTT`, unit: "ms", ...both("retained", (r) => r.bystanderMaxRttMs), better: "lower" });
const n = idleConnections.toLocaleString("en-US");
rows.push({ metric: `${n} idle connections: connect all`, unit: "ms", ...both("conn", (r) => r.elapsedMs), better: "lower" });
rows.push({ metric: `${n} idle connections: accept rate`, unit: "conn/s", ...both("conn", (r) => r.connectsPerSec), better: "higher", target: { absolute: 10_000 } });
rows.push({ metric: "broker RSS per idle connection", unit: "KiB", ...both("conn", (r) => r.broker?.perConnectionKiB), better: "lower", target: { absolute: 8 } });
rows.push({ metric: "cold start to listening", unit: "ms", ...both("cold-start", (r) => r.readyMs), better: "lower", target: { absolute: 50 } });

const fmt = (value: number | undefined, unit: string) => {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (unit === "ms" && value < 100) return value.toFixed(3);
  if (unit === "KiB") return value.toFixed(2);
  return Math.round(value).toLocaleString("en-US");
};
const targetText = (row: Row) => {
  if (!row.target) return "";
  const sign = row.better === "lower" ? "≤" : "≥";
  return row.target.ratio !== undefined ? `${sign} ${row.target.ratio}×` : `${sign} ${row.target.absolute!.toLocaleString("en-US")} ${row.unit}`;
};
const met = (row: Row) => {
  if (!row.target) return "";
  const value = row.target.ratio !== undefined ? row.ours / row.mosquitto : row.ours;
  const limit = row.target.ratio ?? row.target.absolute!;
  return (row.better === "lower" ? value <= limit : value >= limit) ? "yes" : "no";
};

const loadAfter = readFileSync("/proc/loadavg", "utf8").trim();
const version = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" }).stdout.trim();
const mosquittoVersion = /mosquitto version (\S+)/.exec(spawnSync("mosquitto", ["-h"], { encoding: "utf8" }).stdout)?.[1] ?? "unknown";
const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores,
  kernel: release(),
  bun: Bun.version,
  mosquitto: mosquittoVersion,
  ourVersion: version([binary, "--version"]),
  pinned: pinned ? `broker on CPU ${BROKER_CPU}, generator on CPU ${GENERATOR_CPU} (taskset)` : "not pinned",
  loadBefore,
  loadAfter,
};
const date = started.toISOString().replace(/\.\d+Z$/, "Z");

const ratio = (a: number, b: number | undefined) => (b !== undefined && Number.isFinite(a / b) ? (a / b).toFixed(2) + "×" : "–");
const tableLines = [
  "| metric | ours | mosquitto | ratio (ours/mosquitto) | target | met | floor (TCP echo) |" + (flags.baseline ? " baseline | ours/baseline |" : ""),
  "|---|---:|---:|---:|---|---|---:|" + (flags.baseline ? "---:|---:|" : ""),
  ...rows.map(
    (row) =>
      `| ${row.metric} (${row.unit}) | ${fmt(row.ours, row.unit)} | ${fmt(row.mosquitto, row.unit)} | ${ratio(row.ours, row.mosquitto)} | ${targetText(row)} | ${met(row)} | ${row.floor === undefined ? "" : fmt(row.floor, row.unit)} |` +
      (flags.baseline ? ` ${fmt(row.baseline, row.unit)} | ${ratio(row.ours, row.baseline)} |` : ""),
  ),
];
const saturation = ["pubsub-q0", "pubsub-q1", "fan-in", "fan-out"].map((id) => {
  const cpu = (target: string, pick: (r: Record<string, any>) => number) => med(id, target, pick).toFixed(0);
  return `| ${id} | ${cpu("ours", (r) => r.brokerCpuPercent)}% | ${cpu("ours", (r) => r.generatorCpu.percentOfCore)}% | ${cpu("mosquitto", (r) => r.brokerCpuPercent)}% | ${cpu("mosquitto", (r) => r.generatorCpu.percentOfCore)}% | ${med(id, "ours", (r) => r.lost)} / ${med(id, "mosquitto", (r) => r.lost)} |`;
});
const clusterMedian = (nodes: number, pick: (run: ClusterBenchRun) => number) => median(clusterRuns.filter((run) => run.nodes === nodes).map(pick));
const clusterLines =
  clusterRuns.length === 0
    ? []
    : [
        "Cluster over Redis (`broker --cluster`): N nodes and one redis-server on this machine, beside the single process above. " +
          "Throughput: one 1→1 QoS 0 generator per node (publisher and subscriber on that node), summed; every message still crosses Redis. " +
          "RTT: one connection on node 1 pinging itself (client → node → Redis → node → client).",
        "",
        "| brokers | msg/s (1→1 QoS 0, 16 B) | RTT QoS 0 p50 (ms) | RTT QoS 0 p99 (ms) |",
        "|---|---:|---:|---:|",
        `| single process, no Redis | ${fmt(med("pubsub-q0", "ours", rate), "msg/s")} | ${fmt(med("rtt-q0", "ours", (r) => ms(r.latency.p50Us)), "ms")} | ${fmt(med("rtt-q0", "ours", (r) => ms(r.latency.p99Us)), "ms")} |`,
        ...[1, 2, 3].map(
          (nodes) =>
            `| cluster, ${nodes} node${nodes === 1 ? "" : "s"} | ${fmt(clusterMedian(nodes, (run) => run.messagesPerSec), "msg/s")} | ${fmt(clusterMedian(nodes, (run) => run.rttP50Ms), "ms")} | ${fmt(clusterMedian(nodes, (run) => run.rttP99Ms), "ms")} |`,
        ),
        "",
      ];
const markdown = [
  `# Benchmark: mqtt-pingpong broker vs mosquitto`,
  "",
  `${date} · ${machine.cpu}, ${cores} cores, Linux ${machine.kernel} · Bun ${machine.bun} · mosquitto ${machine.mosquitto} · ${machine.ourVersion}`,
  "",
  `${rounds} interleaved round(s), medians; ${durationS} s per run after ${warmupS} s warm-up (round trips: ${rttWarmupS} s, see the note below the table); MQTT ${flags.protocol}; ${machine.pinned}. ` +
    `Load average before: ${loadBefore.split(" ").slice(0, 3).join(" ")}, after: ${loadAfter.split(" ").slice(0, 3).join(" ")}; ` +
    `1-minute load at each round's start: ${loadSamples.join(", ")} (on ${cores} cores: above ${cores} means other processes competed for the CPUs).`,
  "Command: `npm run bench" + (process.argv.length > 2 ? " -- " + process.argv.slice(2).join(" ") : "") + "`." +
    (flags.baseline ? ` Baseline: \`${flags.baseline}\`, another build of mqtt-pingpong.` : "") + " Generator: `mqtt-pingpong bench` (closed loop; inflight 1 for RTT, 100 for QoS 0 and 20 for QoS 1 throughput).",
  "",
  ...tableLines,
  "",
  "RTT: one connection subscribed to its own topic publishes and times the message's return (client → broker → client); the floor is the same client against a raw TCP echo server. " +
    `Each round-trip run measures after ${rttWarmupS} s of traffic on a freshly started broker: a steady state. Our broker's JIT compiler (a thread on the broker's core) is still compiling in its first seconds, which a single message in flight feels; mosquitto has no such phase.`,
  "",
  "Retained: 20,000 retained messages, then one SUBSCRIBE of 2,000 filters (10 `group/+` matching 100 each, 995 exact topics, 995 filters matching nothing); " +
    "the broker's CPU (all threads, from /proc) and the time to the SUBACK are those of a second, identical SUBSCRIBE (the first warms a JIT up), while another client pings itself.",
  "",
  "Who was the limit (median CPU over each run, 100% = one core busy; lost messages ours / mosquitto):",
  "",
  "| scenario | ours: broker | ours: generator | mosquitto: broker | mosquitto: generator | lost |",
  "|---|---:|---:|---:|---:|---|",
  ...saturation,
  "",
  ...clusterLines,
  "Round trips at the pace people ping (a probe every 200 ms and 1 s, every process idle between probes): [cadence.md](cadence.md).",
  "",
  "![latency and throughput](results.svg)",
  "",
];
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "results.md"), markdown.join("\n"));
writeFileSync(join(outDir, "results.json"), JSON.stringify({ date, machine, loadSamples, rounds, durationS, warmupS, rttWarmupS, protocol: flags.protocol, idleConnections, rows, results, cluster: clusterRuns }, null, 2) + "\n");
const pick = (id: string, p: string) => ["ours", "mosquitto", "floor"].map((t) => med(id, t, (r) => ms(r.latency[`${p}Us`])));
writeFileSync(
  join(outDir, "results.svg"),
  renderChart(
    ["mqtt-pingpong", "mosquitto", "TCP echo floor"],
    [
      {
        title: "Round-trip latency, lower is better",
        unit: "ms",
        groups: ["p50", "p90", "p99"].flatMap((p) => [
          { label: `QoS 0 ${p}`, values: pick("rtt-q0", p) },
          { label: `QoS 1 ${p}`, values: pick("rtt-q1", p) },
        ]),
      },
      {
        title: "Throughput, higher is better",
        unit: "msg/s",
        groups: [
          ["pubsub-q0", "1→1 QoS 0"],
          ["pubsub-q1", "1→1 QoS 1"],
          ["fan-in", "fan-in 10→1"],
          ["fan-out", "fan-out 1→10"],
        ].map(([id, label]) => ({ label: label!, values: [med(id!, "ours", rate), med(id!, "mosquitto", rate), NaN] })),
      },
    ],
    `mqtt-pingpong vs mosquitto ${machine.mosquitto}, ${date}, ${cores} cores (${rounds} rounds, medians)`,
  ),
);
console.log(markdown.slice(0, 8 + tableLines.length).join("\n"));
say(`wrote ${join(outDir, "results.md")}, results.json, results.svg`);
