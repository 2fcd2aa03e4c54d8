/**
 * The latency floor for `npm run bench`: a raw TCP echo server on Bun's native sockets. It answers
 * CONNECT and SUBSCRIBE just enough for the bench client to start, then sends every byte straight
 * back, so a PUBLISH returns as if a broker had delivered it: the same client, the same round trip,
 * no broker work. Run: bun scripts/lib/bench/echo-floor.ts PORT
 */
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: bun scripts/lib/bench/echo-floor.ts PORT");
  process.exit(2);
}

/** The MQTT version a connection's CONNECT asked for (4 or 5). */
const versions = new WeakMap<object, number>();

Bun.listen({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.setNoDelay(true);
    },
    data(socket, data) {
      const type = data[0]! >> 4;
      if (type === 1) {
        // CONNECT: fixed header (2 bytes for a small packet), "MQTT" name (6), then the level.
        const version = data[8]!;
        versions.set(socket, version);
        socket.write(version === 5 ? new Uint8Array([0x20, 3, 0, 0, 0]) : new Uint8Array([0x20, 2, 0, 0]));
      } else if (type === 8) {
        // SUBSCRIBE: grant the QoS asked for (the last byte's low bits) under the same message id.
        const v5 = versions.get(socket) === 5;
        const granted = data[data.length - 1]! & 3;
        const suback = v5 ? [0x90, 4, data[2]!, data[3]!, 0, granted] : [0x90, 3, data[2]!, data[3]!, granted];
        socket.write(new Uint8Array(suback));
      } else if (type === 14) {
        socket.end();
      } else {
        socket.write(data);
      }
    },
  },
});
console.log(`echo floor listening on 127.0.0.1:${port}`);
