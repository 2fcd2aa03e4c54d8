// The clients' plain-TCP transport on Bun's native sockets (src/clients/bun-tcp-stream.ts), against
// real listening sockets: what MQTT.js relies on a stream for, and the hand-over after an early answer.
import { afterEach, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { BunTcpStream, HOLD_AFTER_ANSWER_MS, onEachChunk } from "../../src/clients/bun-tcp-stream";
import { freePort } from "./harness";

const listeners: TCPSocketListener<unknown>[] = [];
afterEach(() => {
  for (const listener of listeners.splice(0)) listener.stop(true);
});

/** A server that records what it reads and lets the test write to (or close) its one connection. */
async function server() {
  const received: Buffer[] = [];
  let peer: Socket<unknown> | undefined;
  const connected = Promise.withResolvers<void>();
  const listener = Bun.listen<unknown>({
    hostname: "127.0.0.1",
    port: await freePort(),
    socket: {
      open(socket) {
        peer = socket;
        connected.resolve();
      },
      data(_socket, chunk) {
        received.push(Buffer.from(chunk));
      },
    },
  });
  listeners.push(listener);
  return { port: listener.port, received, connected: connected.promise, peer: () => peer! };
}

const until = async (condition: () => boolean, what: string, deadlineMs = 5_000) => {
  const deadline = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
};

test("writes made before the socket opens, and one larger than the kernel takes at once, arrive whole and in order", async () => {
  const { port, received } = await server();
  const stream = new BunTcpStream("127.0.0.1", port);
  const connected = new Promise((resolve) => stream.once("connect", resolve));
  stream.write(Buffer.from("first "));
  const big = Buffer.alloc(4 * 1024 * 1024, 0x5a);
  stream.write(big);
  stream.write(Buffer.from(" last"));
  await connected;
  const expected = Buffer.concat([Buffer.from("first "), big, Buffer.from(" last")]);
  await until(() => received.reduce((sum, chunk) => sum + chunk.length, 0) >= expected.length, "every byte");
  expect(Buffer.concat(received).equals(expected)).toBe(true);
  stream.destroy();
});

test("a refused connection is an error worded as node:net words it, with its code", async () => {
  const port = await freePort();
  const stream = new BunTcpStream("127.0.0.1", port);
  const error = await new Promise<Error & { code?: string }>((resolve) => stream.once("error", resolve));
  expect(error.code).toBe("ECONNREFUSED");
  expect(error.message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
});

test("the broker closing the connection ends the stream and closes it", async () => {
  const { port, connected, peer } = await server();
  const stream = new BunTcpStream("127.0.0.1", port);
  stream.resume();
  const closed = new Promise((resolve) => stream.once("close", resolve));
  const ended = new Promise((resolve) => stream.once("end", resolve));
  await connected;
  peer().end();
  await Promise.all([ended, closed]);
  expect(stream.destroyed).toBe(true);
});

test("a chunk answered early reaches the stream's readers after a moment, its flags set just before; the chunks after it wait their turn, in order", async () => {
  const { port, connected, peer } = await server();
  const stream = new BunTcpStream("127.0.0.1", port);
  const events: string[] = [];
  let readAtMs = 0;
  onEachChunk(stream, (chunk) => {
    const text = chunk.toString();
    if (text === "answered") readAtMs = performance.now();
    events.push(`listener ${text}`);
    return { answered: text === "answered", beforeRead: () => events.push(`before ${text}`) };
  });
  const dataAt: number[] = [];
  stream.on("data", (chunk: Buffer) => {
    events.push(`data ${chunk.toString()}`);
    dataAt.push(performance.now());
  });
  await connected;
  peer().write("plain");
  await until(() => events.includes("data plain"), "the plain chunk");
  // Not answered: handed over at once, its flags set first.
  expect(events).toEqual(["listener plain", "before plain", "data plain"]);

  events.length = 0;
  // "next" is sent from inside the listener, so it is on its way while "answered" is held.
  onEachChunk(stream, (chunk) => void (chunk.toString() === "answered" && peer().write("next")));
  peer().write("answered");
  await until(() => events.includes("data next"), "the chunk after it");
  const answeredReadAt = readAtMs;
  // Each chunk's flags just before its data, the data in the order read, whenever "next" was read.
  expect(events.filter((event) => !event.startsWith("listener"))).toEqual(["before answered", "data answered", "before next", "data next"]);
  expect(events.indexOf("listener answered")).toBe(0);
  // setTimeout never fires early by more than the clock's grain.
  expect(dataAt[1]! - answeredReadAt).toBeGreaterThanOrEqual(HOLD_AFTER_ANSWER_MS - 0.5);
  stream.destroy();
});

test("writeNow sends at once when nothing is queued, and goes behind queued bytes otherwise", async () => {
  const { port, received, connected } = await server();
  const stream = new BunTcpStream("127.0.0.1", port);
  await new Promise((resolve) => stream.once("connect", resolve));
  await connected;
  stream.writeNow(Buffer.from("a"));
  stream.cork();
  stream.write(Buffer.from("b"));
  stream.writeNow(Buffer.from("c")); // corked: it must not overtake "b"
  stream.uncork();
  await until(() => Buffer.concat(received).length >= 3, "three bytes");
  expect(Buffer.concat(received).toString()).toBe("abc");
  stream.destroy();
});

test("a reader that falls behind stops the socket's reads (the sender is held by TCP), and gets every byte once it reads again", async () => {
  const { port, connected, peer } = await server();
  const stream = new BunTcpStream("127.0.0.1", port);
  await connected;
  // Nobody reads: the stream's buffer fills to its high-water mark, then the socket is paused and the
  // kernel's buffers fill, so the server's writes stop being taken. (Without the pause the stream
  // would take all 64 MiB into its buffer.) Each write yields, so the client gets to read.
  const total = 64 * 1024 * 1024;
  const block = Buffer.alloc(1024 * 1024, 7);
  let written = 0;
  while (written < total) {
    const taken = Math.max(0, peer().write(block));
    written += taken;
    if (taken < block.length) break;
    await Bun.sleep(1);
  }
  expect(written).toBeLessThan(total);
  expect(stream.readableLength).toBeLessThan(4 * 1024 * 1024);
  let received = 0;
  stream.on("data", (chunk: Buffer) => (received += chunk.length));
  const drained = () =>
    new Promise<void>((resolve) => {
      const step = () => {
        if (written >= total) return resolve();
        written += Math.max(0, peer().write(block.subarray(0, Math.min(block.length, total - written))));
        setTimeout(step, 1);
      };
      step();
    });
  await drained();
  await until(() => received === total, "every byte", 20_000);
  expect(received).toBe(total);
  stream.destroy();
}, 30_000);

test("what is written before the socket opens, and corked writes, leave in one send each (mqtt-packet writes a packet in pieces)", async () => {
  const { port, received, connected } = await server();
  const stream = new BunTcpStream("127.0.0.1", port);
  // A CONNECT's pieces, written before the connection is up: one send, so a peer that reads the
  // packet's header from its first read sees all of it.
  for (const piece of ["\x10", "\x0c", "\x00\x04MQTT", "\x05"]) stream.write(Buffer.from(piece, "latin1"));
  await connected;
  await until(() => Buffer.concat(received).length >= 9, "every piece");
  expect(stream.sends).toBe(1);
  expect(Buffer.concat(received).toString("latin1")).toBe("\x10\x0c\x00\x04MQTT\x05");
  stream.cork();
  for (const piece of ["ab", "cd", "ef"]) stream.write(Buffer.from(piece));
  process.nextTick(() => stream.uncork());
  await until(() => Buffer.concat(received).length >= 15, "the corked writes");
  expect(stream.sends).toBe(2);
  stream.destroy();
});
