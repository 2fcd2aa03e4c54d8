// ping as a network tool: statistics, --json, --quiet, the live status, and its exit statuses.
import { describe, expect, test } from "bun:test";
import mqtt from "mqtt";
import { BINARY, freePort, pingpong, Proc, startBroker, startMosquitto, testWithPrograms } from "./harness";

interface Summary {
  type: "summary";
  transmitted: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  lossPercent: number;
  rttMs: Record<"min" | "avg" | "max" | "mdev" | "p50" | "p90" | "p99" | "p999", number>;
  connectMs: { transport: number; connack: number };
}

/** Every stdout line must be one JSON object; returns them. */
function jsonLines(proc: Proc): Array<Record<string, unknown>> {
  const lines = proc.stdoutLines.filter((line) => line !== "");
  return lines.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`stdout line is not JSON: ${JSON.stringify(line)}`);
    }
  });
}

function expectSane(summary: Summary, count: number): void {
  expect(summary.transmitted).toBe(count);
  expect(summary.received).toBe(count);
  expect(summary.lossPercent).toBe(0);
  expect(summary.duplicates).toBe(0);
  const { min, avg, max, mdev, p50, p90, p99, p999 } = summary.rttMs;
  expect(min).toBeGreaterThan(0);
  expect(min).toBeLessThanOrEqual(p50);
  expect(p50).toBeLessThanOrEqual(p90);
  expect(p90).toBeLessThanOrEqual(p99);
  expect(p99).toBeLessThanOrEqual(p999);
  expect(p999).toBeLessThanOrEqual(max);
  expect(min).toBeLessThanOrEqual(avg);
  expect(avg).toBeLessThanOrEqual(max);
  expect(mdev).toBeGreaterThanOrEqual(0);
  // Connect time is reported apart, and the transport handshake comes before CONNACK.
  expect(summary.connectMs.transport).toBeGreaterThan(0);
  expect(summary.connectMs.transport).toBeLessThanOrEqual(summary.connectMs.connack);
}

async function pingJson(port: number, count: number): Promise<Proc> {
  const ping = pingpong("ping", "-p", String(port), "-c", String(count), "-I", "20ms", "--json");
  expect(await ping.waitExit(20_000)).toBe(0);
  return ping;
}

function checkJsonRun(ping: Proc, count: number): void {
  const objects = jsonLines(ping);
  const probes = objects.filter((object) => object.type === "probe");
  expect(probes.map((probe) => probe.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  for (const probe of probes) expect(probe.rttMs).toBeGreaterThan(0);
  expect(objects.at(-1)!.type).toBe("summary");
  expect(objects).toHaveLength(count + 1);
  expectSane(objects.at(-1) as unknown as Summary, count);
}

describe("ping statistics", () => {
  test("against our broker: --json is one object per probe plus the summary, and the statistics are sane", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port), "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    checkJsonRun(await pingJson(port, 30), 30);
  });

  testWithPrograms(["mosquitto"], "against Debian's mosquitto: the same, and the text summary too", async () => {
    const { port } = await startMosquitto();
    const echo = pingpong("echo", "-p", String(port), "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    checkJsonRun(await pingJson(port, 30), 30);

    const text = pingpong("ping", "-p", String(port), "-c", "10", "-I", "20ms");
    expect(await text.waitExit(20_000)).toBe(0);
    const output = text.output();
    expect(output).toContain(`--- localhost:${port} /ping → /pong ping statistics ---`);
    expect(output).toMatch(/^10 probes transmitted, 10 received, 0 duplicates, 0 out of order, 0% loss, time \d+ms$/m);
    const [, min, avg, max] = /rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(output)!.map(Number);
    const [, p50, p90, p99, p999] = /rtt p50\/p90\/p99\/p99\.9 = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(output)!.map(Number);
    expect(min!).toBeLessThanOrEqual(p50!);
    expect(p50!).toBeLessThanOrEqual(p90!);
    expect(p90!).toBeLessThanOrEqual(p99!);
    expect(p99!).toBeLessThanOrEqual(p999!);
    expect(p999!).toBeLessThanOrEqual(max!);
    expect(min!).toBeLessThanOrEqual(avg!);
    expect(output).toMatch(/^connect: transport [\d.]+ (ms|s), CONNACK [\d.]+ (ms|s)$/m);
    expect(text.lines.filter((line) => /^Got \d+\.\d+ on \/pong: seq=\d+ rtt=[\d.]+ ms$/.test(line))).toHaveLength(10);
  });

  test("--quiet prints the summary only, and no live status into a pipe", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port), "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "-p", String(port), "-c", "5", "-I", "20ms", "--quiet");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.stdoutLines.filter((line) => line !== "").map((line) => line.split(" ")[0])).toEqual(["---", "5", "rtt", "rtt", "connect:"]);
    expect(Buffer.concat(ping.stdoutChunks).includes("\r")).toBe(false);
  });

  testWithPrograms(["script"], "--quiet on a terminal keeps a live one-line status, then prints the summary", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port), "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    // script(1) gives ping a pseudo-terminal as stdout.
    const ping = new Proc(["script", "-qfec", `${BINARY} ping -p ${port} -c 8 -I 100ms --quiet`, "/dev/null"]);
    expect(await ping.waitExit(15_000)).toBe(0);
    const output = Buffer.concat(ping.stdoutChunks).toString();
    expect(output).toMatch(/\r\x1b\[2K\d+ sent, \d+ received, [\d.]+% unanswered, last rtt /);
    expect(output).toContain("8 probes transmitted, 8 received");
  });
});

describe("ping probes", () => {
  test("--size N puts exactly N bytes on the wire, the timestamp first, and the round trip works", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port), "--quiet");
    await echo.waitFor(/Subscribed to \/ping/);
    // -N: the payload byte for byte, nothing after it.
    const watcher = pingpong("sub", "-p", String(port), "-t", "/ping", "-C", "1", "-N", "-d");
    await watcher.waitFor(/^debug: subscribed to \/ping/);
    const ping = pingpong("ping", "-p", String(port), "-c", "3", "-I", "50ms", "--size", "300", "--json");
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(await watcher.waitExit()).toBe(0);
    const wire = Buffer.concat(watcher.stdoutChunks);
    expect(wire.length).toBe(300);
    const firstProbe = jsonLines(ping).find((object) => object.type === "probe")!;
    expect(wire.subarray(0, String(firstProbe.payload).length).toString()).toBe(String(firstProbe.payload));
    expect(wire.toString("latin1")).toMatch(/^\d+\.\d+ x+$/);
    expect((jsonLines(ping).at(-1) as unknown as Summary).received).toBe(3);
  });

  test("--ping-topic and --pong-topic: an echo on the same topics answers, and nothing goes to /ping or /pong", async () => {
    const { port } = await startBroker();
    const topics = ["--ping-topic", "probe/out", "--pong-topic", "probe/back"];
    const echo = pingpong("echo", "-p", String(port), ...topics, "--quiet");
    await echo.waitFor(/Subscribed to probe\/out/);
    const watcher = pingpong("sub", "-p", String(port), "-t", "/ping", "-t", "/pong", "-C", "1", "-v", "-d");
    await watcher.waitForCount(/^debug: subscribed to /, 2);
    const ping = pingpong("ping", "-p", String(port), "-c", "3", "-I", "50ms", ...topics);
    expect(await ping.waitExit(15_000)).toBe(0);
    expect(ping.output()).toContain(`--- localhost:${port} probe/out → probe/back ping statistics ---`);
    expect(ping.lines.filter((line) => /^Got \d+\.\d+ on probe\/back: seq=\d+ rtt=/.test(line))).toHaveLength(3);
    // A marker sent after the run must be the first thing the watcher sees: no probe went to /ping.
    expect(await pingpong("pub", "-p", String(port), "-t", "/ping", "-m", "marker").waitExit()).toBe(0);
    expect(await watcher.waitExit()).toBe(0);
    expect(watcher.stdoutLines).toEqual(["/ping marker"]);
  });

  test("echoes answered in swapped order are counted out of order, and still received", async () => {
    const { port, url } = await startBroker();
    // A responder that holds each odd probe and answers it after the even one that follows.
    const responder = await mqtt.connectAsync(url, { protocolVersion: 5 });
    try {
      let held: Buffer | undefined;
      responder.on("message", (_topic, payload) => {
        if (!held) return void (held = Buffer.from(payload));
        responder.publish("/pong", payload);
        responder.publish("/pong", held);
        held = undefined;
      });
      await responder.subscribeAsync("/ping");
      const ping = pingpong("ping", "-p", String(port), "-c", "4", "-I", "50ms", "--timeout", "5s", "--json");
      expect(await ping.waitExit(15_000)).toBe(0);
      const objects = jsonLines(ping);
      const probes = objects.filter((object) => object.type === "probe");
      expect(probes.map((probe) => [probe.seq, probe.outOfOrder])).toEqual([[2, false], [1, true], [4, false], [3, true]]);
      const summary = objects.at(-1) as unknown as Summary;
      expect(summary.received).toBe(4);
      expect(summary.outOfOrder).toBe(2);
      expect(summary.duplicates).toBe(0);
    } finally {
      await responder.endAsync();
    }
  });
});

describe("ping keeps to the broker's Receive Maximum", () => {
  for (const qos of ["1", "2"]) {
    test(`QoS ${qos} probes every 10 µs never exceed --max-inflight 2: no 0x93 disconnect, every probe answered`, async () => {
      const { proc: broker, port } = await startBroker("--max-inflight", "2", "--max-queued", "2", "--slow-consumer-timeout", "1s");
      const echo = pingpong("echo", "-p", String(port), "-q", qos, "--quiet");
      await echo.waitFor(/Subscribed to \/ping/);
      // A second subscriber to /ping that stops reading: with 2 in flight to it and 2 queued, the
      // broker holds the probes' acknowledgements back (--max-queued) until it cuts that client off
      // after 1 s, so ping's window of 2 fills for certain, however fast the machine answers.
      const stuck = pingpong("sub", "-p", String(port), "-t", "/ping", "-q", qos, "-i", `stuck-${qos}`);
      await broker.waitFor(new RegExp(`stuck-${qos} subscribed`));
      process.kill(stuck.pid, "SIGSTOP"); // SIGKILL (the harness's clean-up) still ends it
      // Without a window of its own, ping would have more QoS 1/2 messages unacknowledged at the
      // broker than its Receive Maximum, and the broker would disconnect it with 0x93.
      const ping = pingpong("ping", "-p", String(port), "-q", qos, "-c", "300", "-I", "10us", "--quiet");
      expect(await ping.waitExit(30_000)).toBe(0);
      expect(ping.output()).toContain("300 probes transmitted, 300 received, 0 duplicates");
      expect(ping.output()).toMatch(/warning: The broker's Receive Maximum \(2\) is used up; probes wait for a free slot\./);
      expect(ping.output()).not.toContain("0x93");
      expect(broker.output()).not.toMatch(/0x93|receive maximum exceeded/i);
    });
  }
});

describe("ping exit statuses", () => {
  test("1 when the echo is killed mid-run", async () => {
    const { port } = await startBroker();
    const echo = pingpong("echo", "-p", String(port));
    await echo.waitFor(/Subscribed to \/ping/);
    const ping = pingpong("ping", "-p", String(port), "-c", "12", "-I", "100ms", "--timeout", "500ms");
    await ping.waitFor(/seq=3 rtt=/);
    echo.kill("SIGKILL");
    expect(await ping.waitExit(15_000)).toBe(1);
    const [, sent, received] = /(\d+) probes transmitted, (\d+) received/.exec(ping.output())!.map(Number);
    expect(sent).toBe(12);
    expect(received!).toBeGreaterThanOrEqual(3);
    expect(received!).toBeLessThan(12);
    expect(ping.output()).toMatch(/warning: No echo for seq=12 /);
  });

  test("3 when nothing listens, with stdout empty under --json", async () => {
    const port = await freePort();
    const ping = pingpong("ping", "-p", String(port), "--connect-timeout", "300ms", "--json");
    expect(await ping.waitExit(10_000)).toBe(3);
    expect(ping.stdoutLines.filter((line) => line !== "")).toEqual([]);
    expect(ping.output()).toContain(`error: could not connect to localhost:${port} within 0.3 s`);
  });

  testWithPrograms(["mosquitto"], "against Debian's mosquitto: 1 when the echo is killed mid-run, 3 when the broker goes away", async () => {
    const { proc: mosquitto, port } = await startMosquitto();
    const echo = pingpong("echo", "-p", String(port));
    await echo.waitFor(/Subscribed to \/ping/);
    const lossy = pingpong("ping", "-p", String(port), "-c", "8", "-I", "100ms", "--timeout", "500ms");
    await lossy.waitFor(/seq=2 rtt=/);
    echo.kill("SIGKILL");
    expect(await lossy.waitExit(15_000)).toBe(1);
    const [, sent, received] = /(\d+) probes transmitted, (\d+) received/.exec(lossy.output())!.map(Number);
    expect(sent).toBe(8);
    expect(received!).toBeGreaterThanOrEqual(2);
    expect(received!).toBeLessThan(8);

    const cut = pingpong("ping", "-p", String(port), "-I", "100ms", "--timeout", "500ms");
    await cut.waitFor(/^Publishing /);
    mosquitto.kill("SIGKILL");
    expect(await cut.waitExit(5_000)).toBe(3);
    expect(cut.output()).toContain(`connection to localhost:${port} lost`);
    expect(cut.output()).toMatch(/\d+ probes transmitted, 0 received/);
  });

  test("2 for a usage error", async () => {
    const ping = pingpong("ping", "--size", "-1");
    expect(await ping.waitExit()).toBe(2);
  });
});
