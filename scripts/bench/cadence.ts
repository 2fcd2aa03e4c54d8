// Cadence scenarios of `npm run bench`: round trips at the pace people ping (a probe every 200 ms and
// every 1 s), when every process sleeps between probes. Pairs of clients (a minimal C pair,
// bench/minimal-pair.c; our ping + echo; the same minimal pair on Bun, bench/minimal-bun.ts) through
// our broker, mosquitto and a Bun broker that only forwards (bench/minimal-bun.ts), plus one-hop TCP
// echo floors, all side by side in one run (docs/performance.md, "Cadence"). The Bun-minimal streams
// give the bound: the ratios the targets ask for, reached by the least a program on Bun can do.
//   bun scripts/bench/cadence.ts [--probes N] [--spacings 200,1000] [--idle SECONDS] [--out DIR] [--binary PATH]
// Writes bench/cadence.md and bench/cadence.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { childLines } from "../child-lines";
import { freePort } from "../lib/net";
import { cpuMsOfPid } from "../lib/process-cpu";
import { quantile } from "../lib/stats";
import { percentOfCore, withoutOverlaps, type TimedProbe } from "./cadence-probes";

export interface CadenceOptions {
  binary: string;
  /** Probes counted per stream and spacing (a few more are sent while the machine settles). */
  probes: number;
  spacingsMs: number[];
  /** Seconds with no probes at the end, over which the idle CPU of brokers and echoes is read. */
  idleS: number;
  /** Extra arguments for our ping (e.g. --breakdown). */
  pingArgs?: string[];
  say: (text: string) => void;
}

type Broker = "ours" | "mosquitto" | "bun-forwarder";
type Pair = "minimal" | "ours" | "bun-minimal";
const BROKER_LABEL: Record<Broker, string> = { ours: "our broker", mosquitto: "mosquitto", "bun-forwarder": "minimal Bun forwarder" };
const PAIR_LABEL: Record<Pair, string> = { minimal: "minimal C pair", ours: "our ping + echo", "bun-minimal": "minimal Bun pair" };
interface StreamSpec {
  id: string;
  label: string;
  /** Starts what the pinger talks to; returns its port. */
  serve(): Promise<number>;
  pinger(port: number, count: number, spacingMs: number): string[];
  /** The round trip in ms from one line of the pinger's output, or undefined for other lines. */
  rttOf(line: string): number | undefined;
}

export interface StreamResult {
  id: string;
  label: string;
  spacingMs: number;
  sent: number;
  counted: number;
  p50Ms: number;
  p90Ms: number;
  /** CPU of each process of this stream while it probed, % of one core. */
  cpuPercent: Record<string, number>;
}

export interface CadenceResult {
  date: string;
  machine: Record<string, string | number>;
  probes: number;
  streams: StreamResult[];
  /** % of one core over the idle window, per long-lived process (brokers, echoes, floor servers). */
  idleCpuPercent: Record<string, number>;
  idleS: number;
  loadBefore: string;
  loadAfter: string;
}

const ROOT = resolve(import.meta.dir, "../..");
const MINIMAL_BUN = join(ROOT, "bench/minimal-bun.ts");
/** A probe within this long of another stream's counts as overlapping (the pipe to us adds a little). */
const OVERLAP_MARGIN_MS = 1;
/** Probes sent before every pinger has run this long are warm-up: starting a runtime is not idle. */
const SETTLE_MS = 2000;

function buildMinimalPair(): string {
  const out = join(mkdtempSync(join(tmpdir(), "cadence-")), "minimal-pair");
  const cc = spawnSync("cc", ["-O2", "-o", out, join(ROOT, "bench/minimal-pair.c")], { stdio: "inherit" });
  if (cc.status !== 0) throw new Error("cc could not build bench/minimal-pair.c (apt-get install gcc)");
  return out;
}

interface Child {
  name: string;
  /** The stream it serves. */
  stream: string;
  pid: number;
  proc: ReturnType<typeof Bun.spawn>;
}

export async function benchCadence(options: CadenceOptions): Promise<CadenceResult> {
  const { binary, say } = options;
  if (!Bun.which("mosquitto")) throw new Error("mosquitto is not installed (apt-get install mosquitto)");
  const minimal = buildMinimalPair();
  const children: Child[] = [];
  const longLived: Child[] = [];

  const spawnChild = async (stream: string, name: string, argv: string[], ready?: RegExp, onLine?: (line: string, atMs: number) => void): Promise<Child> => {
    const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const child = { name, stream, pid: proc.pid, proc };
    children.push(child);
    const out = childLines(proc.stdout as ReadableStream<Uint8Array>, onLine);
    const err = childLines(proc.stderr as ReadableStream<Uint8Array>);
    if (ready) {
      await Promise.race([
        out.waitFor(ready, 15_000),
        err.waitFor(ready, 15_000),
        proc.exited.then((code) => {
          throw new Error(`${name} exited ${code} before it was ready: ${[...out.seen, ...err.seen].join(" | ")}`);
        }),
      ]);
    }
    return child;
  };

  const startBroker = async (stream: string, broker: Broker, name: string): Promise<number> => {
    const port = await freePort();
    if (broker === "ours") {
      longLived.push(await spawnChild(stream, name, [binary, "broker", "--host", "127.0.0.1", "--port", String(port)], /listening|Listening/));
    } else if (broker === "bun-forwarder") {
      longLived.push(await spawnChild(stream, name, [process.execPath, MINIMAL_BUN, "forwarder", String(port)], /ready/));
    } else {
      const dir = mkdtempSync(join(tmpdir(), "cadence-mosquitto-"));
      // As the hot-path bench configures it: TCP_NODELAY as our broker sets it, no persistence.
      writeFileSync(join(dir, "mosquitto.conf"), `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\n`);
      longLived.push(await spawnChild(stream, name, ["mosquitto", "-c", join(dir, "mosquitto.conf")], /running/));
    }
    return port;
  };

  const mqttStream = (pair: Pair, broker: Broker, id = `${pair}@${broker}`): StreamSpec => ({
    id,
    label: `${PAIR_LABEL[pair]} through ${BROKER_LABEL[broker]}`,
    async serve() {
      const port = await startBroker(id, broker, `${BROKER_LABEL[broker]} (${PAIR_LABEL[pair]})`);
      const url = `mqtt://127.0.0.1:${port}`;
      const echo = { minimal: [minimal, "mqtt-echo", String(port)], ours: [binary, "echo", "--url", url], "bun-minimal": [process.execPath, MINIMAL_BUN, "mqtt-echo", String(port)] }[pair];
      longLived.push(await spawnChild(id, `${pair === "ours" ? "our echo" : `${PAIR_LABEL[pair]}'s echo`} via ${BROKER_LABEL[broker]}`, echo, /ready|Subscribed to/));
      return port;
    },
    pinger: (port, count, spacingMs) =>
      pair === "ours"
        ? [binary, "ping", "--url", `mqtt://127.0.0.1:${port}`, "--interval", `${spacingMs}ms`, "--count", String(count), "--json", ...(options.pingArgs ?? [])]
        : [...(pair === "minimal" ? [minimal] : [process.execPath, MINIMAL_BUN]), "mqtt-ping", String(port), String(count), String(spacingMs)],
    rttOf: pair === "ours" ? (line) => (line.startsWith('{"type":"probe"') ? (JSON.parse(line).rttMs as number) : undefined) : microseconds,
  });

  const floorStream = (id: string, label: string, server: (port: number) => string[]): StreamSpec => ({
    id,
    label,
    async serve() {
      const port = await freePort();
      longLived.push(await spawnChild(id, label, server(port), /ready|listening/));
      return port;
    },
    pinger: (port, count, spacingMs) => [minimal, "tcp-ping", String(port), String(count), String(spacingMs)],
    rttOf: microseconds,
  });

  const streams: StreamSpec[] = [
    mqttStream("ours", "ours"),
    mqttStream("ours", "mosquitto"),
    mqttStream("minimal", "ours"),
    mqttStream("minimal", "mosquitto"),
    mqttStream("minimal", "bun-forwarder"),
    mqttStream("bun-minimal", "mosquitto"),
    mqttStream("bun-minimal", "bun-forwarder"),
    floorStream("floor-c", "TCP echo floor: C", (port) => [minimal, "tcp-echo", String(port)]),
    floorStream("floor-bun", "TCP echo floor: Bun.listen", (port) => [process.execPath, join(ROOT, "scripts/lib/bench/echo-floor.ts"), String(port)]),
    floorStream("floor-node-net", "TCP echo floor: node:net on Bun", (port) => [process.execPath, join(ROOT, "scripts/bench/node-echo.ts"), String(port)]),
  ];

  const loadBefore = readFileSync("/proc/loadavg", "utf8").trim();
  const started = new Date();
  const results: StreamResult[] = [];
  let idleCpuPercent: Record<string, number> = {};
  try {
    const ports = new Map<string, number>();
    for (const stream of streams) ports.set(stream.id, await stream.serve());

    for (const spacingMs of options.spacingsMs) {
      const extra = Math.ceil(SETTLE_MS / spacingMs) + 1;
      const count = options.probes + extra;
      const probes: TimedProbe[] = [];
      const pingers: Array<{ stream: StreamSpec; child: Child; cpuBefore: number; startedAt: number }> = [];
      say(`cadence: a probe every ${spacingMs} ms, ${count} per stream, ${streams.length} streams side by side`);
      const phaseStart = performance.now();
      for (const [index, stream] of streams.entries()) {
        // Spread the streams' phases over one spacing, so their probes rarely meet.
        const startAt = phaseStart + (index * spacingMs) / streams.length;
        await Bun.sleep(Math.max(0, startAt - performance.now()));
        const onLine = (line: string, atMs: number) => {
          const rttMs = stream.rttOf(line);
          if (rttMs === undefined) return;
          probes.push({ stream: stream.id, sentAtMs: atMs - rttMs, rttMs });
        };
        const child = await spawnChild(stream.id, `${stream.id.startsWith("ours") ? "our ping" : `${stream.id.startsWith("bun-") ? "minimal Bun" : "minimal"} ping`} → ${stream.id}`, stream.pinger(ports.get(stream.id)!, count, spacingMs), undefined, onLine);
        pingers.push({ stream, child, cpuBefore: 0, startedAt: performance.now() });
      }
      const measureFrom = performance.now() + SETTLE_MS;
      await Bun.sleep(SETTLE_MS);
      // CPU of each process from the end of the warm-up to the pinger's last reading before it exits.
      const before = new Map([...longLived, ...pingers.map((pinger) => pinger.child)].map((child) => [child.name, cpuMsOfPid(child.pid)]));
      const cpuPercent = new Map<string, number>();
      await Promise.all(
        pingers.map(async ({ child }) => {
          let exited = false;
          const exit = child.proc.exited.then((code) => {
            exited = true;
            return code;
          });
          let last = { cpu: before.get(child.name)!, at: measureFrom };
          while (!exited) {
            const cpu = cpuMsOfPid(child.pid);
            if (Number.isFinite(cpu)) last = { cpu, at: performance.now() };
            await Promise.race([exit, Bun.sleep(100)]);
          }
          cpuPercent.set(child.name, percentOfCore(before.get(child.name)!, last.cpu, last.at - measureFrom));
          const code = await exit;
          if (code !== 0) throw new Error(`${child.name} exited ${code}`);
        }),
      );
      const wallMs = performance.now() - measureFrom;
      for (const child of longLived) cpuPercent.set(child.name, percentOfCore(before.get(child.name)!, cpuMsOfPid(child.pid), wallMs));

      // Each stream's own warm-up ends SETTLE_MS after its pinger started: the streams start one after
      // another, and on a busy machine starting seven processes can take a good part of a spacing.
      const measuredFrom = new Map(pingers.map(({ stream, startedAt }) => [stream.id, startedAt + SETTLE_MS]));
      const measured = probes.filter((probe) => probe.sentAtMs >= measuredFrom.get(probe.stream)!);
      const kept = withoutOverlaps(measured, OVERLAP_MARGIN_MS);
      for (const stream of streams) {
        const rtts = kept.filter((probe) => probe.stream === stream.id).map((probe) => probe.rttMs);
        const own = children.filter((child) => child.stream === stream.id && cpuPercent.has(child.name)).map((child) => [child.name, cpuPercent.get(child.name)!] as const);
        results.push({
          id: stream.id,
          label: stream.label,
          spacingMs,
          sent: measured.filter((probe) => probe.stream === stream.id).length,
          counted: rtts.length,
          p50Ms: quantile(rtts, 0.5),
          p90Ms: quantile(rtts, 0.9),
          cpuPercent: Object.fromEntries(own.map(([name, percent]) => [name, round(percent, 2)])),
        });
        const last = results.at(-1)!;
        say(`  ${stream.id}: p50 ${last.p50Ms.toFixed(3)} ms, p90 ${last.p90Ms.toFixed(3)} ms (${last.counted} of ${last.sent} probes counted)`);
      }
    }

    say(`cadence: ${options.idleS} s with no probes (idle CPU)`);
    const before = new Map(longLived.map((child) => [child.name, cpuMsOfPid(child.pid)]));
    const idleStart = performance.now();
    await Bun.sleep(options.idleS * 1000);
    const idleWallMs = performance.now() - idleStart;
    idleCpuPercent = Object.fromEntries(longLived.map((child) => [child.name, round(percentOfCore(before.get(child.name)!, cpuMsOfPid(child.pid), idleWallMs), 2)]));
  } finally {
    for (const child of children) child.proc.kill("SIGTERM");
    await Promise.all(children.map((child) => child.proc.exited));
  }
  const mosquittoVersion = /mosquitto version (\S+)/.exec(spawnSync("mosquitto", ["-h"], { encoding: "utf8" }).stdout)?.[1] ?? "unknown";
  return {
    date: started.toISOString().replace(/\.\d+Z$/, "Z"),
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, kernel: release(), bun: Bun.version, mosquitto: mosquittoVersion },
    probes: options.probes,
    streams: results,
    idleCpuPercent,
    idleS: options.idleS,
    loadBefore,
    loadAfter: readFileSync("/proc/loadavg", "utf8").trim(),
  };
}

const microseconds = (line: string) => (/^\d+(\.\d+)?$/.test(line) ? Number(line) / 1000 : undefined);
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;


/** The table and its notes, as markdown lines. */
export function cadenceMarkdown(result: CadenceResult, command: string): string[] {
  const find = (id: string, spacingMs: number) => result.streams.find((stream) => stream.id === id && stream.spacingMs === spacingMs);
  const ms = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(3));
  const ratioOf = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && Number.isFinite(a / b) ? a / b : NaN);
  const lines = [
    "# Cadence: round trips at the pace people ping",
    "",
    `${result.date} · ${result.machine.cpu}, ${result.machine.cores} cores, Linux ${result.machine.kernel} · Bun ${result.machine.bun} · mosquitto ${result.machine.mosquitto} (set_tcp_nodelay true)`,
    "",
    `Command: \`${command}\`. ${result.probes} probes counted per stream and spacing; all streams ran side by side, their phases spread over one spacing, ` +
      `and a probe in flight within ${OVERLAP_MARGIN_MS} ms of another stream's is not counted. Not pinned to cores. ` +
      `Load average before: ${result.loadBefore.split(" ").slice(0, 3).join(" ")}, after: ${result.loadAfter.split(" ").slice(0, 3).join(" ")} (on ${result.machine.cores} cores). Method: docs/performance.md, "Cadence".`,
    "",
    "| pair of clients | through | spacing | p50 (ms) | p90 (ms) | probes counted |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const spacingMs of new Set(result.streams.map((stream) => stream.spacingMs))) {
    for (const stream of result.streams.filter((each) => each.spacingMs === spacingMs)) {
      const [pair, through] = stream.label.split(" through ");
      lines.push(`| ${pair} | ${through ?? "–"} | ${spacingMs} ms | ${ms(stream.p50Ms)} | ${ms(stream.p90Ms)} | ${stream.counted} of ${stream.sent} |`);
    }
  }
  lines.push(
    "",
    "Each ratio twice: with our programs, and with the least a program on Bun can do in their place (bench/minimal-bun.ts: a broker that only forwards, a ping/echo pair on Bun's native sockets). The second is the bound: no broker or client on Bun reaches a ratio below it on this machine, whatever aedes, MQTT.js or our code do.",
    "",
    "| ratio (p50; p90 in brackets) | spacing | ours | least on Bun (bound) | target | met |",
    "|---|---:|---:|---:|---|---|",
  );
  const ratios: Array<[string, [string, string], [string, string], number]> = [
    ["broker: minimal C pair through it / through mosquitto", ["minimal@ours", "minimal@mosquitto"], ["minimal@bun-forwarder", "minimal@mosquitto"], 1.2],
    ["clients: the pair / minimal C pair, both through mosquitto", ["ours@mosquitto", "minimal@mosquitto"], ["bun-minimal@mosquitto", "minimal@mosquitto"], 1.3],
    ["end to end: the pair through the broker / minimal C pair through mosquitto", ["ours@ours", "minimal@mosquitto"], ["bun-minimal@bun-forwarder", "minimal@mosquitto"], 1.5],
  ];
  const ratioCell = ([a, b]: [string, string], spacingMs: number) => {
    const p50 = ratioOf(find(a, spacingMs)?.p50Ms, find(b, spacingMs)?.p50Ms);
    const p90 = ratioOf(find(a, spacingMs)?.p90Ms, find(b, spacingMs)?.p90Ms);
    return { p50, text: `${p50.toFixed(2)}× (${p90.toFixed(2)}×)` };
  };
  for (const [label, ours, bound, target] of ratios) {
    for (const spacingMs of new Set(result.streams.map((stream) => stream.spacingMs))) {
      const mine = ratioCell(ours, spacingMs);
      lines.push(`| ${label} | ${spacingMs} ms | ${mine.text} | ${ratioCell(bound, spacingMs).text} | ≤ ${target}× | ${Number.isFinite(mine.p50) ? (mine.p50 <= target ? "yes" : "no") : "–"} |`);
    }
  }
  lines.push("", `CPU, % of one core: while probing (from the end of the warm-up to the last probe), and over ${result.idleS} s with no probes at all (target ≤ 1%).`, "", "| process | spacing | while probing |", "|---|---:|---:|");
  for (const stream of result.streams) {
    for (const [name, percent] of Object.entries(stream.cpuPercent)) lines.push(`| ${name} | ${stream.spacingMs} ms | ${percent.toFixed(2)}% |`);
  }
  lines.push("", "| process | idle, no probes |", "|---|---:|");
  for (const [name, percent] of Object.entries(result.idleCpuPercent)) lines.push(`| ${name} | ${percent.toFixed(2)}% |`);
  lines.push("");
  return lines;
}

if (import.meta.main) {
  const { values: flags } = parseArgs({
    options: {
      probes: { type: "string", default: "60" },
      spacings: { type: "string", default: "200,1000" },
      idle: { type: "string", default: "10" },
      out: { type: "string" },
      "ping-args": { type: "string" },
      // Another build of mqtt-pingpong (e.g. one from before a change, for a before/after pair of runs).
      binary: { type: "string" },
    },
  });
  const outDir = resolve(flags.out ?? join(ROOT, "bench"));
  const result = await benchCadence({
    binary: resolve(flags.binary ?? join(ROOT, "mqtt-pingpong")),
    probes: Number(flags.probes),
    spacingsMs: flags.spacings!.split(",").map(Number),
    idleS: Number(flags.idle),
    pingArgs: flags["ping-args"]?.split(" ").filter(Boolean),
    say: (text) => process.stderr.write(`${text}\n`),
  });
  writeCadence(result, outDir, `bun scripts/bench/cadence.ts${process.argv.length > 2 ? " " + process.argv.slice(2).join(" ") : ""}`);
}

export function writeCadence(result: CadenceResult, outDir: string, command: string): void {
  mkdirSync(outDir, { recursive: true });
  const markdown = cadenceMarkdown(result, command);
  writeFileSync(join(outDir, "cadence.md"), markdown.join("\n"));
  writeFileSync(join(outDir, "cadence.json"), JSON.stringify(result, null, 2) + "\n");
  console.log(markdown.join("\n"));
}

/** bench.ts's part: the cadence scenarios unless --only leaves them out. */
export async function runCadenceFromBench(options: { binary: string; outDir: string; quick: boolean; only?: string[]; probes?: string; command: string[]; say: (text: string) => void }): Promise<void> {
  if (options.only && !options.only.includes("cadence")) return;
  const probes = Number(options.probes ?? (options.quick ? 15 : 60));
  const result = await benchCadence({ binary: options.binary, probes, spacingsMs: [200, 1000], idleS: options.quick ? 3 : 10, say: options.say });
  writeCadence(result, options.outDir, `npm run bench${options.command.length ? " -- " + options.command.join(" ") : ""}`);
}
