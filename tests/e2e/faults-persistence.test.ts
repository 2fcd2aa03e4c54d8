import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions } from "mqtt";
import { freePort, pingpong, waitUntil, type Proc } from "./harness";

const dir = mkdtempSync(join(tmpdir(), "faults-persistence-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function broker(port: number, dbFile: string): Promise<Proc> {
  const proc = pingpong("broker", "--port", String(port), "--persistence", dbFile);
  await proc.waitFor(/Broker listening on/);
  return proc;
}

const persistent = (clientId: string): IClientOptions => ({
  protocolVersion: 5,
  clientId,
  clean: false,
  properties: { sessionExpiryInterval: 3600 },
  reconnectPeriod: 0,
});

describe("--persistence: state survives a kill -9 of the broker", () => {
  test("retained messages, subscriptions and queued messages of a persistent session", async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const db = join(dir, "state.db");
    let proc = await broker(port, db);
    await proc.waitFor(new RegExp(`Keeping retained messages, subscriptions and sessions in ${db}`));

    // A persistent subscriber subscribes, then goes away; messages for it are queued.
    const away = await mqtt.connectAsync(url, persistent("durable-sub"));
    await away.subscribeAsync("sensors/#", { qos: 1 });
    await away.endAsync();
    const publisher = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    await publisher.publishAsync("config/mode", "eco", { qos: 1, retain: true });
    for (let n = 1; n <= 5; n++) await publisher.publishAsync(`sensors/t${n}`, `reading-${n}`, { qos: 1 });
    await publisher.endAsync();

    proc.kill("SIGKILL");
    expect(await proc.waitExit()).not.toBe(0);
    proc = await broker(port, db);

    // The session is there: no new SUBSCRIBE, and the queued messages arrive in order.
    // The inbox is attached before CONNACK: the queued messages can arrive in the same read as it,
    // before connectAsync's promise would let us attach a listener.
    const back = mqtt.connect(url, persistent("durable-sub"));
    const received: string[] = [];
    const allFive = new Promise<void>((resolve) =>
      back.on("message", (_topic, payload) => {
        received.push(payload.toString());
        if (received.length === 5) resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      back.once("connect", () => resolve());
      back.once("error", reject);
    });
    await Promise.race([allFive, Bun.sleep(20_000)]);
    expect(received).toEqual(["reading-1", "reading-2", "reading-3", "reading-4", "reading-5"]);
    // The restored subscription also matches new messages.
    const live = new Promise<string>((resolve) => back.once("message", (_t, payload) => resolve(payload.toString())));
    const publisher2 = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    await publisher2.publishAsync("sensors/t9", "after-restart", { qos: 1 });
    expect(await live).toBe("after-restart");

    // The retained message too.
    const reader = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
    const retained = new Promise<string>((resolve) => reader.once("message", (_t, payload) => resolve(payload.toString())));
    await reader.subscribeAsync("config/mode");
    expect(await retained).toBe("eco");
    for (const client of [back, publisher2, reader]) await client.endAsync();
  });

  test("a session with nothing in it survives too: Session Present 1 after the restart [MQTT-3.2.2-2], until a clean start ends it", async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const db = join(dir, "empty-session.db");
    let proc = await broker(port, db);
    const sessionPresent = async (options: IClientOptions) => {
      const client = await mqtt.connectAsync(url, options);
      const present = Boolean((client as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent);
      await client.endAsync();
      return present;
    };
    // No subscription, no message: only the session itself, which outlives the connection.
    expect(await sessionPresent(persistent("empty-session"))).toBe(false);
    proc.kill("SIGKILL");
    expect(await proc.waitExit()).not.toBe(0);
    proc = await broker(port, db);
    expect(await sessionPresent(persistent("empty-session"))).toBe(true);
    // MQTT 3.1.1 likewise.
    const v311 = { clientId: "empty-311", clean: false, protocolVersion: 4, reconnectPeriod: 0 } satisfies IClientOptions;
    expect(await sessionPresent(v311)).toBe(false);
    expect(await sessionPresent(v311)).toBe(true);
    // A clean start ends it, and a session that does not outlive its connection leaves nothing.
    expect(await sessionPresent({ ...v311, clean: true })).toBe(false);
    expect(await sessionPresent(v311)).toBe(false);
    expect(await sessionPresent({ ...persistent("empty-session"), properties: { sessionExpiryInterval: 0 } })).toBe(true);
    expect(await sessionPresent(persistent("empty-session"))).toBe(false);
    proc.kill("SIGTERM");
    await proc.waitExit();
  });

  // QoS 2: also exactly once. Both clients survive the kills (their sessions too), so every message
  // the publisher saw completed (PUBCOMP) reaches the subscriber once, however often it was resent.
  for (const qos of [1, 2] as const) test(`QoS ${qos} through two broker kills: every accepted message arrives`, async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const db = join(dir, `qos${qos}.db`);
    let proc = await broker(port, db);

    // Both clients keep their sessions and reconnect by themselves when the broker comes back.
    const reconnecting = (id: string): IClientOptions => ({ ...persistent(id), reconnectPeriod: 100, connectTimeout: 2_000 });
    const subscriber = await mqtt.connectAsync(url, reconnecting(`q${qos}-sub`));
    await subscriber.subscribeAsync("orders", { qos });
    const seen = new Map<string, number>();
    subscriber.on("message", (_t, payload) => seen.set(payload.toString(), (seen.get(payload.toString()) ?? 0) + 1));
    const publisher = await mqtt.connectAsync(url, reconnecting(`q${qos}-pub`));
    const accepted = new Set<string>();
    const errors: string[] = [];

    const TOTAL = 300;
    const publishing = (async () => {
      for (let n = 1; n <= TOTAL; n++) {
        const payload = `order-${n}`;
        publisher.publish("orders", payload, { qos }, (error) => (error ? errors.push(`${payload}: ${error.message}`) : accepted.add(payload)));
        await Bun.sleep(5);
      }
    })();
    for (const afterAccepted of [80, 200]) {
      await waitUntil(() => accepted.size >= afterAccepted, 15_000, () => `${afterAccepted} accepted before the kill (${accepted.size} were)`);
      proc.kill("SIGKILL");
      await proc.exited;
      proc = await broker(port, db);
    }
    await publishing;
    const deadline = Date.now() + 20_000;
    // Publishes made while the broker was down fail ("Connection closed") and are not counted.
    const settled = () => accepted.size + errors.length === TOTAL;
    const complete = () => settled() && [...accepted].every((p) => seen.has(p));
    await waitUntil(complete, deadline - Date.now(), () => `every accepted message delivered (${accepted.size} accepted, ${errors.length} refused, ${[...accepted].filter((p) => !seen.has(p)).length} missing)`, 50);

    const missing = [...accepted].filter((p) => !seen.has(p));
    const duplicated = [...seen].filter(([, times]) => times > 1).map(([p]) => p);
    console.log(`QoS ${qos} through 2 broker kills: ${accepted.size} accepted, ${seen.size} delivered, ${missing.length} missing, ${duplicated.length} duplicated`);
    expect(settled()).toBe(true);
    expect(accepted.size).toBeGreaterThan(TOTAL / 2);
    expect(errors.every((e) => e.endsWith("Connection closed"))).toBe(true);
    expect(missing).toEqual([]);
    if (qos === 2) expect(duplicated).toEqual([]);
    subscriber.end(true);
    publisher.end(true);
  }, 60_000);
});

describe("--persistence refuses what it cannot use: one line, exit 2", () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ["a directory", () => dir, /--persistence: cannot open .* as an SQLite database/],
    ["a file that is not SQLite", () => {
      const file = join(dir, "notes.txt");
      writeFileSync(file, "not a database\n".repeat(200));
      return file;
    }, /--persistence: cannot open .*notes\.txt as an SQLite database/],
    ["a path in a missing directory", () => join(dir, "no", "such", "dir", "x.db"), /--persistence: cannot open .* as an SQLite database/],
    ["a redis:// URL", () => "redis://localhost:6379", /--persistence: unsupported scheme "redis:"/],
    ["a file URL on another host", () => "file://elsewhere/x.db", /--persistence: "file:\/\/elsewhere\/x\.db" names another host/],
  ];
  for (const [name, value, message] of cases) {
    test(name, async () => {
      const target = value();
      const proc = pingpong("broker", "--port", "0", "--persistence", target);
      const code = await proc.waitExit();
      expect(code).toBe(2);
      const lines = proc.lines.filter((line) => line.trim() !== "");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
  }
});
