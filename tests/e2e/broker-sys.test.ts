import { describe, expect, test } from "bun:test";
import { connectV5 } from "./mqtt5-client";
import { Proc, pingpong, startBroker, testWithPrograms } from "./harness";
import { version } from "../../package.json";

/** The latest value of every $SYS/broker topic a client sees, and a way to wait for one to pass a mark. */
async function watchSys(url: string) {
  const { client } = await connectV5(url);
  const latest = new Map<string, string>();
  let changed: () => void = () => {};
  client.on("message", (topic, payload) => {
    latest.set(topic, payload.toString());
    changed();
  });
  await client.subscribeAsync("$SYS/broker/#");
  const number = (topic: string) => Number(latest.get(`$SYS/broker/${topic}`));
  return {
    latest,
    number,
    async until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; $SYS: ${JSON.stringify(Object.fromEntries(latest))}`);
        await Promise.race([new Promise<void>((resolve) => (changed = resolve)), Bun.sleep(250)]);
      }
    },
  };
}

describe("$SYS topics", () => {
  testWithPrograms(["mosquitto_pub", "mosquitto_sub"], "every --sys-interval the broker publishes its counters, and they move when messages flow", async () => {
    const { url, port } = await startBroker("--sys-interval", "200ms");
    const sys = await watchSys(url);
    await sys.until("the first round", () => sys.latest.size >= 12);
    expect([...sys.latest.keys()].sort()).toEqual(
      [
        "bytes/received", "bytes/sent", "clients/connected", "clients/total", "heap/current", "memory/rss",
        "messages/received", "messages/sent", "retained messages/count", "subscriptions/count", "uptime", "version",
      ].map((topic) => `$SYS/broker/${topic}`),
    );
    expect(sys.latest.get("$SYS/broker/version")).toBe(`mqtt-pingpong version ${version}`);
    expect(sys.latest.get("$SYS/broker/uptime")).toMatch(/^\d+ seconds$/);
    expect(sys.number("heap/current")).toBeGreaterThan(0);
    await sys.until("our client counted", () => sys.number("clients/connected") >= 1 && sys.number("subscriptions/count") >= 1);

    const before = { received: sys.number("messages/received"), sent: sys.number("messages/sent"), bytesIn: sys.number("bytes/received"), total: sys.number("clients/total") };
    const sub = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", "flow/#", "-C", "5", "-W", "20"]);
    await sys.until("the subscriber", () => sys.number("subscriptions/count") >= 2);
    for (let i = 0; i < 5; i++) {
      const pub = new Proc(["mosquitto_pub", "-h", "127.0.0.1", "-p", String(port), "-t", `flow/${i}`, "-m", "x".repeat(100)]);
      expect(await pub.waitExit()).toBe(0);
    }
    expect(await sub.waitExit()).toBe(0);
    await sys.until("5 more messages received and sent", () => sys.number("messages/received") >= before.received + 5 && sys.number("messages/sent") >= before.sent + 5);
    expect(sys.number("bytes/received")).toBeGreaterThan(before.bytesIn + 5 * 100);
    expect(sys.number("clients/total")).toBeGreaterThanOrEqual(before.total + 6);
    await sys.until("the subscriber gone", () => sys.number("subscriptions/count") === 1);
  });

  testWithPrograms(["mosquitto_sub"], "$SYS values are retained, so a late subscriber gets them at once; --sys-interval 0 publishes none", async () => {
    const { port, proc: broker } = await startBroker("--sys-interval", "1h");
    const late = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(port), "-t", "$SYS/broker/version", "-C", "1", "-W", "10", "-V", "311"]);
    expect(await late.waitExit()).toBe(0);
    expect(late.stdoutLines).toEqual([`mqtt-pingpong version ${version}`]);
    broker.kill();

    const { port: quiet } = await startBroker("--sys-interval", "0");
    const none = new Proc(["mosquitto_sub", "-h", "127.0.0.1", "-p", String(quiet), "-t", "$SYS/broker/#", "-W", "1"]);
    await none.waitExit();
    expect(none.stdoutLines).toEqual([]);
  });

  test("a bad --sys-interval is one line and exit status 2", async () => {
    const proc = pingpong("broker", "--port", "0", "--sys-interval", "often");
    expect(await proc.waitExit()).toBe(2);
    expect(proc.lines).toHaveLength(1);
    expect(proc.lines[0]).toContain("--sys-interval");
  });
});
