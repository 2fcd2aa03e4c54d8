// Console scenario of `npm run bench`: what an open web console costs the broker. 1,000 clients each
// publishing to and subscribed to its own topic (1,000 topics); a page is its event stream read and
// its client table fetched every other second (as the Clients tab does).
// - Open loop, 10,000 msg/s: ONE broker and one generator; the page attaches and leaves in alternate
//   phases, and the broker's CPU time per message is read for each phase. On a shared machine this
//   pairs each phase with its neighbours, so a drift in the machine's load hits both alike.
// - Closed loop (as fast as it goes): a broker per run, with and without a page, rounds alternating.
// Broker and generator pinned to different cores; the page's side beside the generator.
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

/** A page: the event stream read as it comes, and /api/clients every other second (the Clients tab's pace). */
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
  const poll = setInterval(() => void fetch(`${base}/api/clients`, { headers: { Cookie: cookie }, signal: abort.signal }).then((r) => r.arrayBuffer()).catch(() => {}), 2000);
  return { ticks: () => ticks, topics: () => topics.size, close: () => (clearInterval(poll), abort.abort()) };
}

/** messages_received_total from /metrics. */
async function messagesReceived(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^mqtt_pingpong_messages_received_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

interface Phase {
  page: boolean;
  cpuUsPerMessage: number;
  messagesPerSec: number;
}

/** One broker at RATE msg/s; the page attached in every other phase. */
async function alternatingPhases(binary: string, phases: number, phaseMs: number, say: (text: string) => void): Promise<Phase[]> {
  const port = await freePort();
  const httpPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const broker = Bun.spawn(pinned("0", [binary, "broker", "--port", String(port), "--http-port", String(httpPort), "--max-connections", "0", "--sys-interval", "0"]), { stdout: "ignore", stderr: "ignore" });
  let generator: ReturnType<typeof Bun.spawn> | undefined;
  try {
    await waitForPort(port);
    await waitForPort(httpPort);
    const durationS = Math.ceil((phases * phaseMs) / 1000) + 120;
    generator = Bun.spawn(pinned(String(cpus().length - 1), [binary, "bench", "latency", "--url", `mqtt://127.0.0.1:${port}`, "--publishers", String(CLIENTS), "--rate", String(RATE), "--duration", `${durationS}s`, "--warmup", "1s", "--json"]), { stdout: "ignore", stderr: "ignore" });
    // Phases start once the whole rate flows (the 1,000 connections take a while on a busy machine).
    const deadline = performance.now() + 120_000;
    for (let before = await messagesReceived(base); ; ) {
      await Bun.sleep(1000);
      const now = await messagesReceived(base);
      if (now - before >= RATE * 0.9) break;
      if (performance.now() > deadline) throw new Error(`the generator did not reach ${RATE} msg/s within 120 s`);
      before = now;
    }
    const result: Phase[] = [];
    for (let index = 0; index < phases; index++) {
      const withPage = index % 2 === 1;
      const page = withPage ? await attachPage(base) : undefined;
      // The first second of a phase settles (the page's first tick, or its listener gone).
      await Bun.sleep(1000);
      const [cpuBefore, messagesBefore, started] = [cpuMsOf(broker.pid), await messagesReceived(base), performance.now()];
      await Bun.sleep(phaseMs);
      const [cpuAfter, messagesAfter, ended] = [cpuMsOf(broker.pid), await messagesReceived(base), performance.now()];
      page?.close();
      const phase = { page: withPage, cpuUsPerMessage: ((cpuAfter - cpuBefore) * 1000) / (messagesAfter - messagesBefore), messagesPerSec: ((messagesAfter - messagesBefore) * 1000) / (ended - started) };
      result.push(phase);
      say(`console open loop phase ${index + 1}/${phases}, ${withPage ? "page open" : "no page"}: ${Math.round(phase.messagesPerSec)} msg/s, broker ${phase.cpuUsPerMessage.toFixed(2)} µs CPU a message${withPage ? `, page: ${page!.ticks()} ticks, ${page!.topics()} topics` : ""}`);
    }
    return result;
  } finally {
    generator?.kill("SIGTERM");
    await generator?.exited;
    broker.kill("SIGTERM");
    await broker.exited;
  }
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

export async function benchConsole(options: { binary: string; rounds: number; quick: boolean; say: (text: string) => void }): Promise<{ phases: Phase[]; runs: Run[] }> {
  // The page's side (reading the stream, fetching the table) runs in this process: keep it off the
  // broker's core, beside the generator, as a browser would be another process.
  if (cpus().length >= 2 && Bun.which("taskset")) Bun.spawnSync(["taskset", "-a", "-p", "-c", String(cpus().length - 1), String(process.pid)], { stdout: "ignore" });
  const timing = options.quick ? ["--duration", "3s", "--warmup", "2s"] : ["--duration", "6s", "--warmup", "3s"];
  const phases = await alternatingPhases(options.binary, options.quick ? 4 : 4 * options.rounds, options.quick ? 3000 : 5000, options.say);
  const runs: Run[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const run = await runOnce(options.binary, variant, "closed", timing);
      runs.push(run);
      options.say(`round ${round + 1}/${options.rounds} console closed loop, ${variant}: ${Math.round(run.messagesPerSec)} msg/s, broker CPU ${run.brokerCpuPercent.toFixed(0)}%, p50 ${run.p50Ms.toFixed(1)} ms, lost ${run.lost}${variant === "page open" ? `, page: ${run.ticks} ticks, ${run.topicsSeen} topics` : ""}`);
    }
  }
  return { phases, runs };
}

export function writeConsoleResults({ phases, runs }: { phases: Phase[]; runs: Run[] }, outDir: string, command: string): void {
  const change = (without: number, withPage: number) => `${withPage >= without ? "+" : ""}${(((withPage - without) / without) * 100).toFixed(1)}%`;
  const phaseMedian = (page: boolean, pick: (phase: Phase) => number) => median(phases.filter((p) => p.page === page).map(pick));
  const [cpuWithout, cpuWith] = [false, true].map((page) => phaseMedian(page, (p) => p.cpuUsPerMessage));
  const [rateWithout, rateWith] = [false, true].map((page) => phaseMedian(page, (p) => p.messagesPerSec));
  const med = (variant: Variant, pick: (run: Run) => number) => median(runs.filter((r) => r.variant === variant).map(pick));
  const closed = (pick: (run: Run) => number) => VARIANTS.map((variant) => med(variant, pick));
  const [closedRateWithout, closedRateWith] = closed((r) => r.messagesPerSec);
  const [closedCpuWithout, closedCpuWith] = closed((r) => r.brokerCpuPercent);
  const [perCpuWithout, perCpuWith] = closed((r) => r.messagesPerSec / (r.brokerCpuPercent / 100));
  const pageRuns = runs.filter((r) => r.variant === "page open");
  // Each page phase against the mean of the no-page phases either side of it: the pairing that
  // cancels most of a drift in the machine's load.
  const paired = phases.flatMap((phase, index) => {
    const neighbours = [phases[index - 1], phases[index + 1]].filter((p): p is Phase => p !== undefined && !p.page);
    if (!phase.page || neighbours.length === 0) return [];
    return [phase.cpuUsPerMessage / (neighbours.reduce((sum, p) => sum + p.cpuUsPerMessage, 0) / neighbours.length) - 1];
  });
  const pairedChange = median(paired);
  const text = [
    "# What an open web console costs the broker",
    "",
    `Generated by \`${command}\` on ${new Date().toISOString()} (${cpus().length} CPUs, ${cpus()[0]?.model ?? "?"}, Linux ${release()}, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} at the end).`,
    `${CLIENTS.toLocaleString("en")} clients, each publishing to and subscribed to its own topic (QoS 0, 16 bytes). A page: its event stream read and /api/clients fetched every other second (it was told about ${Math.min(...pageRuns.map((r) => r.topicsSeen))}-${Math.max(...pageRuns.map((r) => r.topicsSeen))} topics).`,
    "",
    `**Open loop, ${RATE.toLocaleString("en")} msg/s, one broker, the page attached in every other phase** (medians of ${phases.length / 2} phases each):`,
    "",
    "| measure | no page | page open | change |",
    "|---|---|---|---|",
    `| broker CPU per message, µs | ${cpuWithout!.toFixed(2)} | ${cpuWith!.toFixed(2)} | ${change(cpuWithout!, cpuWith!)} |`,
    `| broker CPU per message, each page phase against its neighbours (median of ${paired.length}; they spread from ${(Math.min(...paired) * 100).toFixed(0)}% to ${(Math.max(...paired) * 100).toFixed(0)}%) | | | ${pairedChange >= 0 ? "+" : ""}${(pairedChange * 100).toFixed(1)}% |`,
    `| msg/s received | ${Math.round(rateWithout!)} | ${Math.round(rateWith!)} | ${change(rateWithout!, rateWith!)} |`,
    `| throughput of a saturated broker core (1 / CPU per message), msg/s | ${Math.round(1e6 / cpuWithout!)} | ${Math.round(1e6 / cpuWith!)} | ${change(1 / cpuWithout!, 1 / cpuWith!)} |`,
    "",
    `**Closed loop (as fast as it goes), a broker per run** (medians of ${runs.length / 2} runs each; the generator's core is usually the limit):`,
    "",
    "| measure | no page | page open | change |",
    "|---|---|---|---|",
    `| msg/s delivered | ${Math.round(closedRateWithout!)} | ${Math.round(closedRateWith!)} | ${change(closedRateWithout!, closedRateWith!)} |`,
    `| broker CPU, % of a core | ${closedCpuWithout!.toFixed(0)} | ${closedCpuWith!.toFixed(0)} | ${change(closedCpuWithout!, closedCpuWith!)} |`,
    `| msg/s per broker CPU-second | ${Math.round(perCpuWithout!)} | ${Math.round(perCpuWith!)} | ${change(perCpuWithout!, perCpuWith!)} |`,
    "",
  ].join("\n");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "console.md"), text);
  writeFileSync(join(outDir, "console.json"), JSON.stringify({ command, phases, runs }, null, 2) + "\n");
}

/** For `npm run bench` (--only console: this alone). */
export async function runConsoleFromBench(options: { binary: string; outDir: string; quick: boolean; rounds: number; only?: string[]; command: string[]; say: (text: string) => void }): Promise<void> {
  if (options.only && !options.only.includes("console")) return;
  const result = await benchConsole(options);
  writeConsoleResults(result, options.outDir, `npm run bench${options.command.length ? " -- " + options.command.join(" ") : ""}`);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { rounds: { type: "string" }, quick: { type: "boolean", default: false }, out: { type: "string" } } });
  const root = resolve(import.meta.dir, "../..");
  const quick = values.quick!;
  const result = await benchConsole({ binary: join(root, "mqtt-pingpong"), rounds: Number(values.rounds ?? (quick ? 1 : 3)), quick, say: (text) => process.stderr.write(`${text}\n`) });
  writeConsoleResults(result, resolve(values.out ?? join(root, "bench")), `bun scripts/bench/console.ts ${process.argv.slice(2).join(" ")}`.trim());
}
