// Runs the compiled binary and third-party peers as real processes, and waits on their output.
import { test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, waitForPort } from "../../scripts/lib/net";

export { freePort, waitForPort };
export { rssMb } from "../../src/bench/rss";

export const BINARY = resolve(import.meta.dir, "../../mqtt-pingpong");
export const IN_CI = process.env.CI === "true";

type Signal = "SIGINT" | "SIGTERM" | "SIGKILL";

/** A child process whose stdout and stderr lines are collected and can be awaited. */
export class Proc {
  readonly lines: string[] = [];
  readonly stdoutLines: string[] = [];
  readonly stdoutChunks: Uint8Array[] = [];
  readonly exited: Promise<number>;
  private readonly child: ReturnType<typeof Bun.spawn>;
  private waiters: Array<() => void> = [];
  exitCode: number | null = null;

  constructor(
    readonly command: string[],
    options: { env?: Record<string, string>; stdin?: "pipe" | "ignore" } = {},
  ) {
    this.child = Bun.spawn(command, {
      stdout: "pipe",
      stderr: "pipe",
      stdin: options.stdin ?? "ignore",
      env: { ...process.env, NO_COLOR: "1", ...options.env },
    });
    running.add(this);
    const out = this.collect(this.child.stdout as ReadableStream<Uint8Array>, true);
    const err = this.collect(this.child.stderr as ReadableStream<Uint8Array>, false);
    this.exited = Promise.all([this.child.exited, out, err]).then(([code]) => {
      this.exitCode = code;
      running.delete(this);
      this.notify();
      return code;
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  get stdin() {
    return this.child.stdin as import("bun").FileSink;
  }

  private async collect(stream: ReadableStream<Uint8Array>, isStdout: boolean): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of stream) {
      if (isStdout) this.stdoutChunks.push(chunk);
      partial += decoder.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop()!;
      for (const line of parts) this.addLine(line, isStdout);
    }
    if (partial) this.addLine(partial, isStdout);
  }

  private addLine(line: string, isStdout: boolean): void {
    this.lines.push(line);
    if (isStdout) this.stdoutLines.push(line);
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves with the first output line matching `pattern`; fails after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((line) => pattern.test(line));
      if (found !== undefined) return found;
      if (this.exitCode !== null) throw new Error(`${this.describe()} exited ${this.exitCode} before printing ${pattern}\n${this.output()}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${pattern} from ${this.describe()}\n${this.output()}`);
      await Promise.race([this.changed(), Bun.sleep(Math.min(remaining, 250))]);
    }
  }

  /** Counts output lines matching `pattern`, waiting until there are `count` of them. */
  async waitForCount(pattern: RegExp, count: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter((line) => pattern.test(line));
      if (found.length >= count) return found;
      if (this.exitCode !== null || Date.now() > deadline) {
        throw new Error(`expected ${count} lines matching ${pattern} from ${this.describe()}, saw ${found.length}\n${this.output()}`);
      }
      await Promise.race([this.changed(), Bun.sleep(250)]);
    }
  }

  /** Resolves with the exit status; fails if the process is still running after `timeoutMs`. */
  async waitExit(timeoutMs = 10_000): Promise<number> {
    const timer = Bun.sleep(timeoutMs).then(() => "timeout" as const);
    const result = await Promise.race([this.exited, timer]);
    if (result === "timeout") throw new Error(`${this.describe()} still running after ${timeoutMs} ms\n${this.output()}`);
    return result;
  }

  kill(signal: Signal = "SIGTERM"): void {
    if (this.exitCode === null) this.child.kill(signal);
  }

  output(): string {
    return this.lines.join("\n");
  }

  describe(): string {
    return this.command.map((part) => part.replace(/^.*\/mqtt-pingpong$/, "mqtt-pingpong")).join(" ");
  }
}

const running = new Set<Proc>();

/**
 * Kills whatever the finished test started, even when it failed half-way. tests/preload.ts runs it
 * after every test: an afterEach here would only apply to the first test file that imports this
 * module (bun evaluates it once), and the others' processes would outlive the run.
 */
export async function stopStartedProcesses(): Promise<void> {
  const procs = [...running];
  for (const proc of procs) proc.kill("SIGKILL");
  await Promise.all(procs.map((proc) => proc.exited));
}

export function pingpong(...args: string[]): Proc {
  return new Proc([BINARY, ...args]);
}

/**
 * Starts our broker on a free port and waits until it listens. Another program may bind the port
 * between freePort() and the broker's bind (test files run side by side): then another port is tried.
 */
export async function startBroker(...extra: string[]): Promise<{ proc: Proc; port: number; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = pingpong("broker", "--port", String(port), ...extra);
    try {
      await proc.waitFor(/Broker listening on/);
      return { proc, port, url: `mqtt://127.0.0.1:${port}` };
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(proc.output())) throw error;
    }
  }
}

/** Whether a program is on PATH. */
export function hasProgram(name: string): boolean {
  return Bun.which(name) !== null;
}

/**
 * Declares a test that needs third-party programs. When one is missing it is skipped with a loud
 * reason on a developer's machine, and fails under CI=true, where .ci/run must have installed it.
 */
export function testWithPrograms(programs: string[], name: string, body: () => Promise<void>, timeoutMs?: number): void {
  const missing = programs.filter((program) => !hasProgram(program));
  if (missing.length > 0 && !IN_CI) {
    console.warn(`SKIPPED "${name}": ${missing.join(", ")} not installed (apt-get install mosquitto mosquitto-clients redis-server openssl)`);
    test.skip(name, body);
    return;
  }
  test(
    name,
    async () => {
      if (missing.length > 0) throw new Error(`${missing.join(", ")} not installed; .ci/run must install them`);
      await body();
    },
    timeoutMs,
  );
}

/** Starts Debian's mosquitto on a free loopback port, TCP_NODELAY on, and waits until it accepts. */
export async function startMosquitto(extraConfig = ""): Promise<{ proc: Proc; port: number; url: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mosquitto-"));
  const config = join(dir, "mosquitto.conf");
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence false\nlog_dest stdout\n${extraConfig}`);
  const proc = new Proc(["mosquitto", "-c", config]);
  await waitForPort(port);
  return { proc, port, url: `mqtt://127.0.0.1:${port}` };
}

/**
 * Resolves once `condition()` holds, polling every `pollMs`; at the deadline it throws, naming what
 * it waited for (`what`, or a string of its own), so a test never goes on as if it had happened.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what?: string | (() => string), pollMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const described = typeof what === "function" ? what() : (what ?? String(condition));
      throw new Error(`not within ${timeoutMs} ms: ${described}`);
    }
    await Bun.sleep(pollMs);
  }
}

/**
 * How much longer a QoS 1 round trip takes than a QoS 0 one, median against median, with both pings
 * running at once through the same broker (`connect` flags) and their own echo. Nagle's algorithm on
 * any end holds the second small write of a QoS 1 exchange (the PUBLISH after a PUBACK) for the
 * peer's delayed ACK, ~40 ms, while QoS 0 has no second write; a loaded machine slows both alike.
 * 50 ms apart: closer probes cut a delayed ACK short and would hide Nagle.
 */
export async function qos1PenaltyMs(connect: string[]): Promise<number> {
  const medians = await Promise.all(
    [0, 1].map(async (qos) => {
      const topics = ["--ping-topic", `/nagle/ping/${qos}`, "--pong-topic", `/nagle/pong/${qos}`];
      const echo = pingpong("echo", ...connect, ...topics, "--qos", String(qos), "--quiet");
      await echo.waitFor(/Subscribed/);
      const ping = pingpong("ping", ...connect, ...topics, "--qos", String(qos), "--count", "20", "--interval", "50ms", "--json");
      if ((await ping.waitExit(20_000)) !== 0) throw new Error(`ping at QoS ${qos} failed:\n${ping.output()}`);
      const summary = JSON.parse(ping.stdoutLines.filter((line) => line !== "").at(-1)!);
      if (summary.received !== 20) throw new Error(`ping at QoS ${qos}: ${summary.received} of 20 answered`);
      echo.kill("SIGTERM");
      return summary.rttMs.p50 as number;
    }),
  );
  return medians[1]! - medians[0]!;
}
