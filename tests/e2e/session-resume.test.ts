// A persistent session resumed by a broker process that has no record of its last connection: after a
// kill -9 and restart with --persistence, or on another --cluster node. Its new packet ids must not be
// those of its stored messages still unacknowledged [MQTT-2.2.1-3] (aedes starts at a random one), and
// what was queued while it was away goes out before live messages (with Redis, live ones overtook the
// replay).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { IPublishPacket, Packet } from "mqtt-packet";
import { freePort, pingpong, type Proc, testWithPrograms } from "./harness";
import { startNode, startRedis } from "./cluster-harness";
import { RawClient } from "./mqtt-raw";

const dir = mkdtempSync(join(tmpdir(), "session-resume-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLIENT_ID = "resume-ids";
const STORED = 12;
const AWAY = 5;
const LIVE = 3;

const after = (messageId: number) => (messageId % 65535) + 1;
const publishes = (client: RawClient) => client.received.filter((p): p is IPublishPacket => p.cmd === "publish");

async function connectHeld(port: number): Promise<RawClient> {
  const client = await RawClient.open(port, 5);
  client.send({ cmd: "connect", protocolId: "MQTT", protocolVersion: 5, clientId: CLIENT_ID, clean: false, keepalive: 60, properties: { sessionExpiryInterval: 600 } });
  await client.waitFor((p) => p.cmd === "connack");
  return client;
}

/** Where the session starts, where it is resumed, and how the first broker process goes away. */
interface Setup {
  firstPort: number;
  /** The node the publisher uses throughout (it outlives the kill). */
  publishUrl: string;
  /** Kills the first broker with SIGKILL; resolves with the port to resume on. */
  killFirst(): Promise<number>;
  firstProc: Proc;
}

async function restartSetup(): Promise<Setup> {
  const port = await freePort();
  const db = join(dir, "restart.db");
  const start = async () => {
    const proc = pingpong("broker", "--port", String(port), "--persistence", db);
    await proc.waitFor(/Broker listening on/);
    return proc;
  };
  const firstProc = await start();
  return {
    firstPort: port,
    publishUrl: `mqtt://127.0.0.1:${port}`,
    firstProc,
    async killFirst() {
      firstProc.kill("SIGKILL");
      await firstProc.exited;
      await start();
      return port;
    },
  };
}

async function clusterSetup(): Promise<Setup> {
  const redis = await startRedis();
  const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
  return {
    firstPort: a.port,
    publishUrl: b.url,
    firstProc: a.proc,
    async killFirst() {
      a.proc.kill("SIGKILL");
      await a.proc.exited;
      return b.port;
    },
  };
}

const setups = [
  { name: "after a kill -9 and restart with --persistence", programs: [] as string[], make: restartSetup },
  { name: "on another --cluster node after a kill -9", programs: ["redis-server"], make: clusterSetup },
];

describe("a persistent session resumed by another broker process", () => {
  for (const setup of setups) {
    testWithPrograms(setup.programs, `${setup.name}: new packet ids go on after the stored ones, never taking one still unacknowledged; queued messages first`, async () => {
      const { firstPort, publishUrl, firstProc, killFirst } = await setup.make();
      let held = await connectHeld(firstPort);
      held.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "ids/#", qos: 2 }] });
      await held.waitFor((p) => p.cmd === "suback");
      const publisher = await mqtt.connectAsync(publishUrl, { protocolVersion: 5, reconnectPeriod: 0 });
      try {
        // Stored messages with holes between their ids: odd ones at QoS 1, even at QoS 2; some of
        // the QoS 1 ones acknowledged (gone), some QoS 2 ones at PUBREC (a stored PUBREL keeps the id).
        for (let n = 1; n <= STORED; n++) await publisher.publishAsync(`ids/${n}`, `stored-${n}`, { qos: n % 2 === 1 ? 1 : 2 });
        await held.waitFor(() => publishes(held).length === STORED);
        const first = publishes(held);
        const idOf = new Map(first.map((p) => [p.payload.toString(), p.messageId!]));
        const acked = first.filter((p, i) => p.qos === 1 && (i + 1) % 3 === 0);
        const released = first.filter((p, i) => p.qos === 2 && (i + 1) % 3 === 1);
        for (const p of acked) held.send({ cmd: "puback", messageId: p.messageId });
        for (const p of released) held.send({ cmd: "pubrec", messageId: p.messageId });
        await held.waitFor(() => held.received.filter((p) => p.cmd === "pubrel").length === released.length);
        held.send({ cmd: "pingreq" });
        await held.waitFor((p) => p.cmd === "pingresp");
        const unacknowledged = first.filter((p) => !acked.includes(p));
        const storedIds = new Set(unacknowledged.map((p) => p.messageId!));
        expect(storedIds.size).toBe(STORED - acked.length);

        // Away: these are queued without an id. Then the first broker process dies.
        held.close();
        await firstProc.waitFor(new RegExp(`Client ${CLIENT_ID} disconnected`));
        for (let n = 1; n <= AWAY; n++) await publisher.publishAsync(`ids/away`, `away-${n}`, { qos: 1 });
        const resumePort = await killFirst();

        // (After a restart the publisher has lost its connection too.)
        const livePublisher = await mqtt.connectAsync(publishUrl, { protocolVersion: 5, reconnectPeriod: 0 });
        held = await connectHeld(resumePort);
        // Live ones right away, while the stored queue is being resent.
        for (let n = 1; n <= LIVE; n++) await livePublisher.publishAsync(`ids/live`, `live-${n}`, { qos: 2 });
        await livePublisher.endAsync();
        const resentCount = unacknowledged.length - released.length;
        await held.waitFor(() => publishes(held).length === resentCount + AWAY + LIVE);
        const second = publishes(held);
        const payloads = second.map((p) => p.payload.toString());
        const expectedResent = unacknowledged.filter((p) => !released.includes(p)).map((p) => p.payload.toString());
        const fresh = [...Array.from({ length: AWAY }, (_, i) => `away-${i + 1}`), ...Array.from({ length: LIVE }, (_, i) => `live-${i + 1}`)];
        // The replay in order, then what was queued meanwhile, then live messages.
        expect(payloads).toEqual([...expectedResent, ...fresh]);
        // Resent with their own ids [MQTT-4.4.0-1], the PUBRELs too.
        for (const p of second.slice(0, resentCount)) expect(p.messageId).toBe(idOf.get(p.payload.toString())!);
        // A resend carries DUP [MQTT-3.3.1-1]; a first delivery does not.
        expect(second.slice(0, resentCount).map((p) => (p as { dup?: boolean }).dup)).toEqual(second.slice(0, resentCount).map(() => true));
        expect(second.slice(resentCount).some((p) => (p as { dup?: boolean }).dup)).toBe(false);
        const pubrels = held.received.filter((p) => p.cmd === "pubrel") as Array<Packet & { messageId: number }>;
        expect(pubrels.map((p) => p.messageId)).toEqual(released.map((p) => p.messageId!));
        // New ids: none of a stored message, and on from the one given out last (no record of it
        // survived the process: it comes from the stored messages).
        const freshIds = second.slice(resentCount).map((p) => p.messageId!);
        expect(freshIds.filter((id) => storedIds.has(id))).toEqual([]);
        let expected = after(idOf.get(`stored-${STORED}`)!);
        for (const id of freshIds) {
          expect(id).toBe(expected);
          expected = after(id);
        }
      } finally {
        publisher.end(true);
      }
    }, 40_000);
  }

  // On another node, the replay's stored messages each cost Redis round trips while live ones were
  // written as they came: they overtook the replay. A stream of live messages flows during the whole
  // reconnect here.
  testWithPrograms(["redis-server"], "on another --cluster node: what was queued while away arrives before live messages, in order", async () => {
    const redis = await startRedis();
    const [a, b] = await Promise.all([startNode(redis.url, "a"), startNode(redis.url, "b")]);
    const options = { clientId: "resume-order", clean: false, protocolVersion: 5 as const, reconnectPeriod: 0, properties: { sessionExpiryInterval: 600 } };
    const away = await mqtt.connectAsync(a.url, options);
    await away.subscribeAsync("order", { qos: 1 });
    await away.endAsync();
    const QUEUED = 200;
    const publisher = await mqtt.connectAsync(b.url, { protocolVersion: 5, reconnectPeriod: 0 });
    for (let n = 1; n <= QUEUED; n++) await publisher.publishAsync("order", `queued-${n}`, { qos: 1 });

    const received: string[] = [];
    let liveSent = 0;
    let streaming = true;
    // One message at a time, each after the last one's PUBACK: the order they were accepted in.
    const stream = (async () => {
      while (streaming) await publisher.publishAsync("order", `live-${++liveSent}`, { qos: 1 });
    })();
    try {
      const back = mqtt.connect(b.url, options);
      const enough = new Promise<void>((resolve) =>
        back.on("message", (_topic, payload) => {
          received.push(payload.toString());
          if (received.length === QUEUED + 50) resolve();
        }),
      );
      const deadline = Bun.sleep(20_000).then(() => {
        throw new Error(`got ${received.length}: ${received.join(", ")}\n--- node b:\n${b.proc.output().slice(-3000)}`);
      });
      await Promise.race([enough, deadline]);
      streaming = false;
      await stream;
      back.end(true);
      // Published order: the queued ones, then the live ones.
      const rank = (payload: string) => (payload.startsWith("queued-") ? Number(payload.slice(7)) : QUEUED + Number(payload.slice(5)));
      const ranks = received.slice(0, QUEUED + 50).map(rank);
      expect(received.slice(0, QUEUED)).toEqual(Array.from({ length: QUEUED }, (_, i) => `queued-${i + 1}`));
      expect(ranks.every((r, i) => i === 0 || r > ranks[i - 1]!), received.join(", ")).toBe(true);
    } finally {
      streaming = false;
      await stream;
      await publisher.endAsync(true);
    }
  }, 40_000);
});
