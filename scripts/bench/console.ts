// Console scenario of `npm run bench`: what an open web console costs the broker. 1,000 clients each
// publishing to and subscribed to its own topic (1,000 topics), open loop at 10,000 msg/s in total
// and closed loop (as fast as it goes), against one broker with --http-port and no page open, and
// one with a page attached (its event stream read, and its client table fetched every second as the
// Clients tab does). Rounds alternate the order. Broker and generator pinned to different cores.
//   bun scripts/bench/console.ts [--rounds N] [--quick] [--out DIR]
// Writes bench/console.md and bench/console.json (docs/console.md, "Cost").
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { freePort, waitForPort } from "../lib/net";
import { median } from "../lib/stats";
import { cpuMsOfStat } from "./cadence-probes";

const CLIENTS = 1000;
const RATE = 10_000;
type Variant = "no page" | "page open";
const VARIANTS: Variant[] = ["no page", "page open"];

interface Run {
  variant: Variant;
  load: "open" | "closed";
  messagesPerSec: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  brokerCpuPercent: number;
  /** What the attached page got: ticks, and topics it was told about (0 without a page). */
  ticks: number;
  topicsSeen: number;
}

function pinned(cpu: string, argv: string[]): string[] {
  const pin = cpus().length >= 2 && Bun.which("taskset") ? ["taskset", "-c", cpu] : [];
  return ["sh", "-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', "sh", ...pin, ...argv];
}

const cpuMsOf = (pid: number) => cpuMsOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));

/** A page: the event stream read as it comes, and /api/clients every second. */
async function attachPage(base: string): Promise<{ ticks: () => number; topics: () => number; close(): void }> {
  const page = await fetch(`${base}/`);
  const cookie = page.headers.get("set-cookie")!.split(";")[0]!;
  await page.text();
  const abort = new AbortController();
  const topics = new Set<string>();
  let ticks = 0;
  const events = await fetch(`${base}/api/events`, { headers: { Cookie: cookie }, signal: abort.signal });
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of events.body!) {
        buffered += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (!event.startsWith("event: tick")) continue;
          ticks++;
          for (const topic of JSON.parse(event.slice(event.indexOf("data: ") + 6)).topics) topics.add(topic.topic);
        }
      }
    } catch {
      // aborted at the end of the run
    }
  })();
  const poll = setInterval(() => void fetch(`${base}/api/clients`, { headers: { Cookie: cookie }, signal: abort.signal }).then((r) => r.arrayBuffer()).catch(() => {}), 1000);
  return { ticks: () => ticks, topics: () => topics.size, close: () => (clearInterval(poll), abort.abort()) };
}

async function runOnce(binary: string, variant: Variant, load: "open" | "closed", timing: string[]): Promise<Run> {
  const port = await freePort();
  const httpPort = await freePort();
  const broker = Bun.spawn(pinned("0", [binary, "broker", "--port", String(port), "--http-port", String(httpPort), "--max-connections", "0", "--sys-interval", "0"]), { stdout: "ignore", stderr: "ignore" });
  try {
    await waitForPort(port);
    await waitForPort(httpPort);
    const page = variant === "page open" ? await attachPage(`http://127.0.0.1:${httpPort}`) : undefined;
    const rate = load === "open" ? ["--rate", String(RATE)] : [];
    const cpuBefore = cpuMsOf(broker.pid);
    const started = performance.now();
    const generator = Bun.spawn(pinned(String(cpus().length - 1), [binary, "bench", "latency", "--url", `mqtt://127.0.0.1:${port}`, "--publishers", String(CLIENTS), ...rate, ...timing, "--json"]), { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(generator.stdout).text(), new Response(generator.stderr).text(), generator.exited]);
    const brokerCpuPercent = ((cpuMsOf(broker.pid) - cpuBefore) / (performance.now() - started)) * 100;
    page?.close();
    const line = stdout.trim().split("\n").pop() ?? "";
    if (!line.startsWith("{")) throw new Error(`bench latency exited ${code}: ${stderr.trim()}`);
    const result = JSON.parse(line);
    return { variant, load, messagesPerSec: result.messagesPerSec, lost: result.lost, p50Ms: result.latency.p50Us / 1000, p99Ms: result.latency.p99Us / 1000, brokerCpuPercent, ticks: page?.ticks() ?? 0, topicsSeen: page?.topics() ?? 0 };
  } finally {
    broker.kill("SIGTERM");
    await broker.exited;
  }
}

export async function benchConsole(options: { binary: string; rounds: number; quick: boolean; say: (text: string) => void }): Promise<Run[]> {
  // The page's side (reading the stream, fetching the table) runs in this process: keep it off the
  // broker's core, beside the generator, as a browser would be another process.
  if (cpus().length >= 2 && Bun.which("taskset")) Bun.spawnSync(["taskset", "-a", "-p", "-c", String(cpus().length - 1), String(process.pid)], { stdout: "ignore" });
  const timing = options.quick ? ["--duration", "3s", "--warmup", "2s"] : ["--duration", "6s", "--warmup", "3s"];
  const runs: Run[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const load of ["open", "closed"] as const) {
      for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
        const run = await runOnce(options.binary, variant, load, timing);
        runs.push(run);
        options.say(`round ${round + 1}/${options.rounds} console ${load} loop, ${variant}: ${Math.round(run.messagesPerSec)} msg/s, broker CPU ${run.brokerCpuPercent.toFixed(0)}%, p50 ${run.p50Ms.toFixed(1)} ms, lost ${run.lost}${variant === "page open" ? `, page: ${run.ticks} ticks, ${run.topicsSeen} topics` : ""}`);
      }
    }
  }
  return runs;
}

export function writeConsoleResults(runs: Run[], outDir: string, command: string): void {
  const med = (variant: Variant, load: string, pick: (run: Run) => number) => median(runs.filter((r) => r.variant === variant && r.load === load).map(pick));
  const change = (without: number, withPage: number) => `${(((withPage - without) / without) * 100).toFixed(1)}%`;
  const rows: string[] = [];
  for (const [load, label] of [["open", `open loop, ${RATE.toLocaleString("en")} msg/s offered`], ["closed", "closed loop (as fast as it goes)"]] as const) {
    const value = (pick: (run: Run) => number) => VARIANTS.map((variant) => med(variant, load, pick));
    const [rateWithout, rateWith] = value((r) => r.messagesPerSec);
    const [cpuWithout, cpuWith] = value((r) => r.brokerCpuPercent);
    const [p50Without, p50With] = value((r) => r.p50Ms);
    // What the broker gets done per second of its CPU: its throughput once it is the bottleneck
    // (here the 1,000-connection generator on one core often is, and the machine is shared).
    const [perCpuWithout, perCpuWith] = value((r) => r.messagesPerSec / (r.brokerCpuPercent / 100));
    rows.push(`| ${label} | msg/s delivered | ${Math.round(rateWithout!)} | ${Math.round(rateWith!)} | ${change(rateWithout!, rateWith!)} |`);
    rows.push(`| ${label} | broker CPU, % of a core | ${cpuWithout!.toFixed(0)} | ${cpuWith!.toFixed(0)} | ${change(cpuWithout!, cpuWith!)} |`);
    rows.push(`| ${label} | msg/s per broker CPU-second | ${Math.round(perCpuWithout!)} | ${Math.round(perCpuWith!)} | ${change(perCpuWithout!, perCpuWith!)} |`);
    rows.push(`| ${label} | round trip p50, ms | ${p50Without!.toFixed(1)} | ${p50With!.toFixed(1)} | ${change(p50Without!, p50With!)} |`);
  }
  const pageRuns = runs.filter((r) => r.variant === "page open");
  const text = [
    "# What an open web console costs the broker",
    "",
    `Generated by \`${command}\` on ${new Date().toISOString()} (${cpus().length} CPUs, ${cpus()[0]?.model ?? "?"}, Linux ${release()}, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} at the end).`,
    `${CLIENTS.toLocaleString("en")} clients, each publishing to and subscribed to its own topic (QoS 0, 16 bytes); medians of ${runs.length / 4} round(s).`,
    `"page open": a page attached to /api/events and fetching /api/clients every second; it was told about ${Math.min(...pageRuns.map((r) => r.topicsSeen))}-${Math.max(...pageRuns.map((r) => r.topicsSeen))} topics.`,
    "",
    "| load | measure | no page | page open | change |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "console.md"), text);
  writeFileSync(join(outDir, "console.json"), JSON.stringify({ command, runs }, null, 2) + "\n");
}

/** For `npm run bench` (--only console: this alone). */
export async function runConsoleFromBench(options: { binary: string; outDir: string; quick: boolean; rounds: number; only?: string[]; command: string[]; say: (text: string) => void }): Promise<void> {
  if (options.only && !options.only.includes("console")) return;
  const runs = await benchConsole(options);
  writeConsoleResults(runs, options.outDir, `npm run bench${options.command.length ? " -- " + options.command.join(" ") : ""}`);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { rounds: { type: "string" }, quick: { type: "boolean", default: false }, out: { type: "string" } } });
  const root = resolve(import.meta.dir, "../..");
  const quick = values.quick!;
  const runs = await benchConsole({ binary: join(root, "mqtt-pingpong"), rounds: Number(values.rounds ?? (quick ? 1 : 3)), quick, say: (text) => process.stderr.write(`${text}\n`) });
  writeConsoleResults(runs, resolve(values.out ?? join(root, "bench")), `bun scripts/bench/console.ts ${process.argv.slice(2).join(" ")}`.trim());
}
