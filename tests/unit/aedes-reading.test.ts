import { expect, test } from "bun:test";
import { Readable } from "node:stream";
import type { Socket } from "bun";
import { holdReadableWhileHandling } from "../../src/broker/listeners/aedes-reading";
import { SocketStream } from "../../src/broker/listeners/socket-stream";

/** aedes's Client as the streams see it: conn.client._parsingBatch, the packets it has in hand (1 before the first read). */
type WithClient = { client?: { _parsingBatch: number } };

test("a Node stream holds 'readable' back while aedes has packets in hand, and not before its first read", async () => {
  const stream = new Readable({ read() {} });
  holdReadableWhileHandling(stream);
  (stream as WithClient).client = { _parsingBatch: 1 };
  let readables = 0;
  stream.on("readable", () => readables++);
  stream.push(Buffer.from("connect"));
  await new Promise((resolve) => process.nextTick(resolve));
  expect(readables).toBe(1); // the count starts at 1: the first read must still be asked for
  expect(stream.read()!.toString()).toBe("connect");
  // A packet is in hand (a held-back QoS 1 PUBLISH): more input waits, unannounced.
  stream.push(Buffer.from("publish"));
  await new Promise((resolve) => process.nextTick(resolve));
  expect(readables).toBe(1);
  // Done with it: aedes reads by itself; what comes after is announced again.
  (stream as WithClient).client!._parsingBatch = 0;
  expect(stream.read()!.toString()).toBe("publish");
  stream.push(Buffer.from("more"));
  await new Promise((resolve) => process.nextTick(resolve));
  expect(readables).toBe(2);
});

test("a SocketStream holds 'readable' back while aedes has packets in hand", () => {
  const socket = { write: (data: Uint8Array) => data.length, pause() {}, resume() {}, end() {}, terminate() {} };
  const stream = new SocketStream(socket as unknown as Socket<SocketStream | undefined>);
  (stream as unknown as WithClient).client = { _parsingBatch: 1 };
  let readables = 0;
  stream.on("readable", () => readables++);
  stream.onData(Buffer.from("connect"));
  expect(readables).toBe(1);
  expect(stream.read()!.toString()).toBe("connect");
  stream.onData(Buffer.from("publish"));
  expect(readables).toBe(1);
  (stream as unknown as WithClient).client!._parsingBatch = 0;
  stream.onData(Buffer.from(" more"));
  expect(readables).toBe(2);
  expect(stream.read()!.toString()).toBe("publish more");
});
