import { afterAll, describe, expect, test as bunTest } from "bun:test";
import { test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import abstractPersistence from "aedes-persistence/abstract.js";
import { decodePacket, encodePacket, SqlitePersistence } from "../../src/broker/persistence/sqlite";

const dir = mkdtempSync(join(tmpdir(), "sqlite-persistence-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(dir, `p${++files}.db`);

// aedes-persistence's own conformance suite, the one every aedes back end must pass.
abstractPersistence({ test, persistence: () => new SqlitePersistence(freshFile()), testAsync: true });

const broker = (id: string) => ({ id, counter: 0, publish() {}, subscribe() {}, unsubscribe() {} }) as { id: string };
const collect = async (stream: AsyncIterable<any>) => {
  const items = [];
  for await (const item of stream) items.push(item);
  return items;
};

/** Writes with one instance, closes it, and returns a second one opened on the same file. */
async function reopen(write: (p: SqlitePersistence) => Promise<void>): Promise<SqlitePersistence> {
  const path = freshFile();
  const first = new SqlitePersistence(path);
  await first.setup(broker("first"));
  await write(first);
  await first.destroy();
  const second = new SqlitePersistence(path);
  await second.setup(broker("second"));
  return second;
}

describe("SqlitePersistence across a restart", () => {
  bunTest("packets round-trip through the file format with their buffers", () => {
    const packet = { cmd: "publish", topic: "a/b", payload: Buffer.from([0, 1, 255]), qos: 1, properties: { correlationData: Buffer.from("id"), userProperties: { k: "v" } } };
    const back = decodePacket(encodePacket(packet));
    expect(Buffer.isBuffer(back.payload)).toBe(true);
    expect(back).toEqual(packet);
  });

  bunTest("retained messages survive, and a cleared one stays cleared", async () => {
    const p = await reopen(async (p) => {
      await p.storeRetained({ cmd: "publish", topic: "keep/me", payload: Buffer.from("kept"), qos: 1, retain: true });
      await p.storeRetained({ cmd: "publish", topic: "drop/me", payload: Buffer.from("x"), qos: 0, retain: true });
      await p.storeRetained({ cmd: "publish", topic: "drop/me", payload: Buffer.alloc(0), qos: 0, retain: true });
    });
    const retained = await collect(p.createRetainedStream("#"));
    expect(retained.map((r) => [r.topic, r.payload.toString()])).toEqual([["keep/me", "kept"]]);
    await p.destroy();
  });

  bunTest("subscriptions survive and match by topic again", async () => {
    const p = await reopen(async (p) => {
      await p.addSubscriptions({ id: "echo" }, [{ topic: "/ping", qos: 2 }, { topic: "zero/#", qos: 0 }]);
      await p.addSubscriptions({ id: "gone" }, [{ topic: "x", qos: 1 }]);
      await p.cleanSubscriptions({ id: "gone" });
    });
    expect(await p.subscriptionsByClient({ id: "echo" })).toEqual([
      { topic: "/ping", qos: 2 },
      { topic: "zero/#", qos: 0 },
    ] as any);
    expect((await p.subscriptionsByTopic("/ping")).map((s: any) => [s.clientId, s.qos])).toEqual([["echo", 2]]);
    expect(await p.subscriptionsByClient({ id: "gone" })).toEqual([]);
    await p.destroy();
  });

  bunTest("queued QoS 1/2 messages survive in order, with their packet ids, and can be cleared", async () => {
    const p = await reopen(async (p) => {
      for (let n = 1; n <= 5; n++) {
        await p.outgoingEnqueueCombi([{ clientId: "echo" }], { cmd: "publish", topic: "/ping", payload: Buffer.from(`m${n}`), qos: 1, brokerId: "first", brokerCounter: n });
      }
      // m1 was sent (packet id 7) and acknowledged; m2 was sent (packet id 8), not acknowledged.
      await p.outgoingUpdate({ id: "echo" }, { cmd: "publish", topic: "/ping", payload: Buffer.from("m1"), qos: 1, brokerId: "first", brokerCounter: 1, messageId: 7 });
      await p.outgoingClearMessageId({ id: "echo" }, { messageId: 7 });
      await p.outgoingUpdate({ id: "echo" }, { cmd: "publish", topic: "/ping", payload: Buffer.from("m2"), qos: 1, brokerId: "first", brokerCounter: 2, messageId: 8 });
      // m3 went out as QoS 2 and reached PUBREL.
      await p.outgoingUpdate({ id: "echo" }, { cmd: "publish", topic: "/ping", payload: Buffer.from("m3"), qos: 2, brokerId: "first", brokerCounter: 3, messageId: 9 });
      await p.outgoingUpdate({ id: "echo" }, { cmd: "pubrel", messageId: 9 });
    });
    const queued = await collect(p.outgoingStream({ id: "echo" }));
    expect(queued.map((q) => [q.cmd, q.payload?.toString() ?? "", q.messageId])).toEqual([
      ["publish", "m2", 8],
      ["pubrel", "", 9],
      ["publish", "m4", undefined],
      ["publish", "m5", undefined],
    ]);
    // Acknowledging after the restart removes them from the file too.
    await p.outgoingClearMessageId({ id: "echo" }, { messageId: 8 });
    await p.outgoingClearMessageId({ id: "echo" }, { messageId: 9 });
    await p.destroy();
    const third = new SqlitePersistence(join(dir, `p${files}.db`));
    await third.setup(broker("third"));
    expect((await collect(third.outgoingStream({ id: "echo" }))).map((q) => q.payload.toString())).toEqual(["m4", "m5"]);
    await third.destroy();
  });

  bunTest("a QoS 2 message received but not yet released survives, so it is not delivered twice", async () => {
    const p = await reopen(async (p) => {
      await p.incomingStorePacket({ id: "pinger" }, { cmd: "publish", topic: "/ping", payload: Buffer.from("once"), qos: 2, messageId: 42 });
    });
    const stored = await p.incomingGetPacket({ id: "pinger" }, { messageId: 42 });
    expect(stored.payload?.toString()).toBe("once");
    await p.incomingDelPacket({ id: "pinger" }, { messageId: 42 });
    await expect(p.incomingGetPacket({ id: "pinger" }, { messageId: 42 })).rejects.toThrow("no such packet");
    await p.destroy();
  });

  bunTest("a QoS 2 message stored but not routed before the stop is flagged, so it is routed when sent again", async () => {
    const p = await reopen(async (p) => {
      await p.incomingStorePacket({ id: "pub" }, { cmd: "publish", topic: "t", payload: Buffer.from("stored only"), qos: 2, messageId: 1 });
      await p.incomingStorePacket({ id: "pub" }, { cmd: "publish", topic: "t", payload: Buffer.from("routed too"), qos: 2, messageId: 2 });
      await p.incomingRouted({ id: "pub" }, { messageId: 2 });
    });
    expect((await p.incomingGetPacket({ id: "pub" }, { messageId: 1 })).unrouted).toBe(true);
    expect((await p.incomingGetPacket({ id: "pub" }, { messageId: 2 })).unrouted).toBeUndefined();
    await p.incomingRouted({ id: "pub" }, { messageId: 1 });
    expect((await p.incomingGetPacket({ id: "pub" }, { messageId: 1 })).unrouted).toBeUndefined();
    await p.destroy();
  });

  bunTest("a QoS 2 message queued for a persistent session counts as routed, even if the broker stops before incomingRouted", async () => {
    const identity = { brokerId: "first", brokerCounter: 7 };
    const message = { cmd: "publish", topic: "t", payload: Buffer.from("queued"), qos: 2, ...identity };
    const p = await reopen(async (p) => {
      await p.incomingStorePacket({ id: "pub" }, { ...message, messageId: 1 });
      await p.incomingStorePacket({ id: "pub" }, { ...message, brokerCounter: 8, messageId: 2 });
      // Routed under its identity to a persistent session; the broker stops before incomingRouted.
      await p.outgoingEnqueueCombi([{ clientId: "sub" }], message);
    });
    // Sent again by the publisher, the first is answered with PUBREC only; the second, never queued, is routed.
    expect((await p.incomingGetPacket({ id: "pub" }, { messageId: 1 })).unrouted).toBeUndefined();
    expect((await p.incomingGetPacket({ id: "pub" }, { messageId: 2 })).unrouted).toBe(true);
    expect((await collect(p.outgoingStream({ id: "sub" }))).map((m) => m.payload.toString())).toEqual(["queued"]);
    await p.destroy();
  });

  bunTest("a will stored by the previous run is handed back as belonging to a broker that is gone", async () => {
    const p = await reopen(async (p) => {
      await p.putWill({ id: "echo" }, { cmd: "publish", topic: "status/echo", payload: Buffer.from("offline"), qos: 1, retain: false });
    });
    const wills = await collect(p.streamWill({ second: Date.now() }));
    expect(wills.map((w) => [w.clientId, w.brokerId, w.payload.toString()])).toEqual([["echo", "first", "offline"]]);
    await p.destroy();
  });

  bunTest("a file that is not SQLite is refused with an error", async () => {
    const path = freshFile();
    await Bun.write(path, "this is not a database, just text that is long enough to have a header.".repeat(20));
    expect(() => new SqlitePersistence(path)).toThrow();
  });
});
