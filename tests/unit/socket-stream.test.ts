import { expect, test } from "bun:test";
import type { Socket } from "bun";
import { SocketStream } from "../../src/broker/listeners/socket-stream";

/** A Bun socket stand-in: takes `room` bytes per write (then none), and records pause/resume. */
function fakeSocket(room = Infinity) {
  const sent: Uint8Array[] = [];
  const calls: string[] = [];
  const socket = {
    write(data: Uint8Array) {
      const taken = Math.min(room, data.length);
      room -= taken;
      sent.push(data.slice(0, taken));
      return taken;
    },
    pause: () => calls.push("pause"),
    resume: () => calls.push("resume"),
    end() {},
    terminate() {},
    setRoom: (bytes: number) => (room = bytes),
  };
  return { socket, sent, calls, stream: new SocketStream(socket as unknown as Socket<SocketStream | undefined>) };
}

test("a SocketStream stops reading past 256 KiB that aedes has not read, and reads again once it has", () => {
  const { stream, calls } = fakeSocket();
  stream.onData(Buffer.alloc(200 * 1024));
  expect(calls).toEqual([]);
  stream.onData(Buffer.alloc(100 * 1024));
  stream.onData(Buffer.alloc(100 * 1024));
  expect(calls).toEqual(["pause"]); // once, not per chunk
  expect(stream.read()!.length).toBe(400 * 1024);
  expect(calls).toEqual(["pause", "resume"]);
  stream.onData(Buffer.alloc(1024));
  expect(stream.read()!.length).toBe(1024);
  expect(calls).toEqual(["pause", "resume"]);
});

test("while the socket is full, a SocketStream keeps copies of what is written, not the buffers they were sliced from", async () => {
  const { socket, stream, sent } = fakeSocket(10);
  stream.write(Buffer.from("0123456789abcdef"));
  await Promise.resolve(); // the flush at the end of the turn: 10 bytes go, the kernel is full
  expect(stream.writableLength).toBe(6);
  const received = Buffer.alloc(64 * 1024, "x"); // a payload sliced from a larger received chunk
  stream.write(received.subarray(0, 4));
  expect(stream.writableLength).toBe(10);
  received.fill("y"); // the chunk is reused or freed: the queued bytes must not change with it
  socket.setRoom(Infinity);
  stream.onDrain();
  expect(Buffer.concat(sent).toString()).toBe("0123456789abcdefxxxx");
  expect(stream.writableLength).toBe(0);
});
