// Every client role ends by itself after its DISCONNECT, even against a broker that keeps the socket
// open (issue 14): the process must not wait for a close that never comes.
import { afterEach, describe, expect, test } from "bun:test";
import { pingpong, type Proc } from "./harness";
import { startLingeringBroker, type LingeringBroker } from "./support/lingering-broker";

let broker: LingeringBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** Generous for a loaded machine; the clients give the broker half a second to close. */
const EXIT_AFTER_DISCONNECT_MS = 3_000;

/** Waits for the `count`th DISCONNECT at the broker, then for `proc` to exit with status 0 soon after. */
async function expectEndsAfterDisconnect(proc: Proc, count = 1): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (broker!.disconnects() < count) {
    if (proc.exitCode !== null) throw new Error(`${proc.describe()} exited ${proc.exitCode} before sending DISCONNECT\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`no DISCONNECT from ${proc.describe()}\n${proc.output()}`);
    await Bun.sleep(20);
  }
  expect(await proc.waitExit(EXIT_AFTER_DISCONNECT_MS)).toBe(0);
}

describe("client roles end after DISCONNECT against a broker that never closes the socket", () => {
  for (const protocol of ["5", "3.1.1"]) {
    test(`ping --count 3 (MQTT ${protocol})`, async () => {
      broker = await startLingeringBroker();
      const port = String(broker.port);
      const echo = pingpong("echo", "--port", port, "-V", protocol);
      await echo.waitFor(/Subscribed/);
      const ping = pingpong("ping", "--port", port, "-V", protocol, "--count", "3", "--interval", "100ms");
      await expectEndsAfterDisconnect(ping);
      expect(ping.output()).toContain("3 probes transmitted, 3 received");
      echo.kill("SIGINT");
      await expectEndsAfterDisconnect(echo, 2);
    }, 30_000);
  }

  test("pub, QoS 0 and QoS 2", async () => {
    broker = await startLingeringBroker();
    const port = String(broker.port);
    await expectEndsAfterDisconnect(pingpong("pub", "-p", port, "-t", "lingering/t", "-m", "hello"), 1);
    await expectEndsAfterDisconnect(pingpong("pub", "-p", port, "-t", "lingering/t", "-m", "hello", "-q", "2"), 2);
  }, 30_000);

  test("pub QoS 1 and 2 to a broker that never acknowledges: one line and exit 3 at --timeout, after a DISCONNECT", async () => {
    broker = await startLingeringBroker({ acknowledge: "none" });
    const port = String(broker.port);
    for (const [qos, awaited] of [["1", "PUBACK"], ["2", "PUBREC/PUBCOMP"]] as const) {
      const pub = pingpong("pub", "-p", port, "-t", "lingering/t", "-m", "hello", "-q", qos, "--timeout", "1s");
      expect(await pub.waitExit(10_000)).toBe(3);
      expect(pub.lines.filter((line) => line.trim() !== "")).toEqual([expect.stringContaining(`no ${awaited} from the broker for the message to lingering/t within 1.00 s; giving up`)]);
    }
    expect(broker.disconnects()).toBe(2);
  }, 30_000);

  test("pub QoS 2 to a broker that sends PUBREC but never PUBCOMP: the same line and exit 3", async () => {
    broker = await startLingeringBroker({ acknowledge: "pubrec" });
    const pub = pingpong("pub", "-p", String(broker.port), "-t", "lingering/t", "-m", "hello", "-q", "2", "--timeout", "1s");
    expect(await pub.waitExit(10_000)).toBe(3);
    expect(pub.lines.filter((line) => line.trim() !== "")).toEqual([expect.stringContaining("no PUBREC/PUBCOMP from the broker for the message to lingering/t within 1.00 s; giving up")]);
    expect(broker.disconnects()).toBe(1);
  }, 30_000);

  test("ping --qos 1 to a broker that never acknowledges: its summary, then DISCONNECT and exit 1 (probes lost)", async () => {
    broker = await startLingeringBroker({ acknowledge: "none" });
    const ping = pingpong("ping", "--port", String(broker.port), "--qos", "1", "--count", "2", "--interval", "100ms", "--timeout", "500ms");
    await ping.waitFor(/2 probes transmitted, 0 received/);
    const deadline = Date.now() + 10_000;
    while (broker.disconnects() < 1) {
      if (Date.now() > deadline) throw new Error(`no DISCONNECT from ${ping.describe()}\n${ping.output()}`);
      await Bun.sleep(20);
    }
    expect(await ping.waitExit(EXIT_AFTER_DISCONNECT_MS)).toBe(1);
  }, 30_000);

  test("sub -C 1", async () => {
    broker = await startLingeringBroker();
    const port = String(broker.port);
    const sub = pingpong("sub", "-p", port, "-t", "lingering/#", "-C", "1", "-d");
    await sub.waitFor(/SUBACK|Subscribed/i);
    const pub = pingpong("pub", "-p", port, "-t", "lingering/t", "-m", "hello");
    await expectEndsAfterDisconnect(pub, 1);
    await sub.waitFor(/^hello$/);
    await expectEndsAfterDisconnect(sub, 2);
  }, 30_000);

  for (const [scenario, ...flags] of [["latency"], ["pubsub", "--qos", "1"]]) {
    test(`bench ${scenario}`, async () => {
      broker = await startLingeringBroker();
      const bench = pingpong("bench", scenario!, "--port", String(broker.port), "--duration", "1s", "--warmup", "0s", "--json", ...flags);
      await expectEndsAfterDisconnect(bench);
      expect(bench.stdoutLines.length).toBeGreaterThan(0);
    }, 30_000);
  }

  test("bench conn closes each of its connections with DISCONNECT and ends", async () => {
    broker = await startLingeringBroker();
    const bench = pingpong("bench", "conn", "--port", String(broker.port), "--connections", "20", "--duration", "1s", "--json");
    expect(await bench.waitExit(15_000)).toBe(0);
    expect(bench.stdoutLines.length).toBeGreaterThan(0);
    const deadline = Date.now() + 5_000;
    while (broker.disconnects() < 20) {
      if (Date.now() > deadline) throw new Error(`${broker.disconnects()} of 20 connections sent DISCONNECT`);
      await Bun.sleep(20);
    }
  }, 30_000);
});
