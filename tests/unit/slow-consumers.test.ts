import { expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import type { Client } from "aedes";
import { limitQueue, type QueueEvents } from "../../src/broker/slow-consumers";

type Packet = { qos: number; topic: string; payload: Buffer };

/** An aedes client as limitQueue sees it, whose deliveries are written at once (as the patched aedes does: its write callback comes in a microtask, and never here) to a socket that never drains. */
function stuckClient(maxQueued: number, maxQueuedBytes: number) {
  const conn = Object.assign(new EventEmitter(), { writableLength: 0 });
  const written: Packet[] = [];
  const dropped: string[] = [];
  const client = {
    id: "slow",
    closed: false,
    version: 5,
    conn,
    deliver0(packet: Packet, _written: () => void) {
      written.push(packet);
      conn.writableLength += packet.payload.length + packet.topic.length + 4;
    },
    deliverQoS() {},
    disconnect() {},
  };
  const events: QueueEvents = { droppedQoS0: (id) => dropped.push(id), heldBack() {}, stalled() {} };
  limitQueue(client as unknown as Client, { maxQueued, maxQueuedBytes, stallTimeoutMs: 1000 }, events);
  let done = 0;
  const publish = (count: number, size: number) => {
    for (let n = 0; n < count; n++) client.deliver0({ qos: 0, topic: "t", payload: Buffer.alloc(size) }, () => done++);
  };
  return { conn, written, dropped, publish, done: () => done };
}

test("--max-queued-bytes counts the QoS 0 messages written in the same turn", async () => {
  const slow = stuckClient(0, 1000);
  slow.publish(5, 300); // one batch: each is in conn.writableLength when the next is delivered
  await Bun.sleep(0);
  expect(slow.written.length).toBe(4); // 4 × 305 bytes reach the cap; the fifth is dropped
  expect(slow.dropped).toEqual(["slow"]);
  expect(slow.done()).toBe(5); // dropped or not, every publish goes on
  slow.publish(1, 10);
  await Bun.sleep(0);
  expect(slow.written.length).toBe(4);
  slow.conn.writableLength = 0; // the socket drained
  slow.publish(1, 10);
  await Bun.sleep(0);
  expect(slow.written.length).toBe(5);
});

test("with both limits, whichever is reached first drops QoS 0", async () => {
  const slow = stuckClient(3, 1_000_000);
  slow.publish(10, 10);
  await Bun.sleep(0);
  // Written to aedes but not acknowledged by the socket's write callback: 3 messages queued.
  expect(slow.written.length).toBe(3);
  expect(slow.dropped.length).toBe(7);
});
