/*
 * The least Bun can do, for `npm run bench`'s cadence scenarios: the same ping/echo pair as
 * bench/minimal-pair.c, and a broker that only forwards, written straight on Bun's native sockets
 * (Bun.listen, Bun.connect) with no library. They run on the runtime our broker and clients run on,
 * so what they cost over the C pair and over mosquitto is what any program on Bun pays per wake-up,
 * before aedes, MQTT.js or our code do anything: a bound under our figures, not a rival to them.
 * MQTT 3.1.1, QoS 0, TCP_NODELAY, keep-alive off; the same arguments and output as the C program.
 *
 *   bun bench/minimal-bun.ts forwarder PORT               accept CONNECT and SUBSCRIBE (exact topics only),
 *                                                          forward each QoS 0 PUBLISH's bytes to the subscribers
 *   bun bench/minimal-bun.ts mqtt-echo PORT                subscribe /ping, republish each payload on /pong
 *   bun bench/minimal-bun.ts mqtt-ping PORT COUNT INTERVAL_MS  publish every INTERVAL_MS on /ping, time its /pong
 *
 * The pinger prints one round trip per line in microseconds; the others print "ready" once they serve.
 * Everything on 127.0.0.1.
 */
import type { Socket } from "bun";

const [mode, portText, countText, intervalText] = process.argv.slice(2);
const port = Number(portText);
if (!["forwarder", "mqtt-echo", "mqtt-ping"].includes(mode ?? "") || !Number.isInteger(port) || port <= 0) {
  console.error("usage: bun bench/minimal-bun.ts forwarder|mqtt-echo|mqtt-ping PORT [COUNT INTERVAL_MS]");
  process.exit(2);
}

/** Cuts a byte stream into whole MQTT packets, keeping a packet split across reads until it is whole. */
class Framer {
  private pending: Buffer | undefined;
  constructor(private readonly onPacket: (packet: Buffer, body: number) => void) {}

  feed(chunk: Buffer): void {
    const bytes = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let offset = 0;
    while (offset < bytes.length) {
      let length = 0;
      let multiplier = 1;
      let at = offset + 1;
      for (;;) {
        if (at >= bytes.length) return void (this.pending = bytes.subarray(offset));
        const digit = bytes[at++]!;
        length += (digit & 0x7f) * multiplier;
        multiplier *= 128;
        if ((digit & 0x80) === 0) break;
      }
      if (at + length > bytes.length) return void (this.pending = bytes.subarray(offset));
      this.onPacket(bytes.subarray(offset, at + length), at - offset);
      offset = at + length;
    }
  }
}

const utf8 = (text: string) => {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
};
const withHeader = (first: number, body: Buffer) => Buffer.concat([Buffer.from([first, body.length]), body]);
const topicOf = (packet: Buffer, at: number) => packet.toString("latin1", at + 2, at + 2 + packet.readUInt16BE(at));

if (mode === "forwarder") {
  const subscribers = new Map<string, Set<Socket<Framer>>>();
  Bun.listen<Framer>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        socket.data = new Framer((packet, body) => {
          const type = packet[0]! >> 4;
          if (type === 1) socket.write(Buffer.from([0x20, 2, 0, 0]));
          else if (type === 8) {
            const topic = topicOf(packet, body + 2);
            if (!subscribers.has(topic)) subscribers.set(topic, new Set());
            subscribers.get(topic)!.add(socket);
            socket.write(Buffer.from([0x90, 3, packet[body]!, packet[body + 1]!, 0]));
          } else if (type === 3) {
            for (const subscriber of subscribers.get(topicOf(packet, body)) ?? []) subscriber.write(packet);
          } else if (type === 12) socket.write(Buffer.from([0xd0, 0]));
          else if (type === 14) socket.end();
        });
      },
      data(socket, chunk) {
        socket.data.feed(chunk);
      },
      close(socket) {
        for (const set of subscribers.values()) set.delete(socket);
      },
    },
  });
  console.log("ready");
} else {
  const echo = mode === "mqtt-echo";
  const count = Number(countText ?? 0);
  const intervalMs = Number(intervalText ?? 0);
  const pubHeader = utf8(echo ? "/pong" : "/ping");
  const publish = (payload: Buffer) => withHeader(0x30, Buffer.concat([pubHeader, payload]));
  let subscribed = false;
  let sentAt = 0;
  let received = 0;
  const socket = await Bun.connect<Framer>({
    hostname: "127.0.0.1",
    port,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        socket.data = new Framer((packet, body) => {
          const type = packet[0]! >> 4;
          if (type === 9 && !subscribed) {
            subscribed = true;
            if (echo) console.log("ready");
            else probeEvery();
          } else if (type === 3) {
            if (echo) return void socket.write(publish(packet.subarray(body + 2 + packet.readUInt16BE(body))));
            const rttUs = (performance.now() - sentAt) * 1000;
            console.log(rttUs.toFixed(1));
            if (++received >= count) process.exit(0);
          }
        });
        socket.write(withHeader(0x10, Buffer.concat([utf8("MQTT"), Buffer.from([4, 2, 0, 0]), utf8(`minimal-bun-${process.pid}`)])));
        socket.write(withHeader(0x82, Buffer.concat([Buffer.from([0, 1]), utf8(echo ? "/ping" : "/pong"), Buffer.from([0])])));
      },
      data(socket, chunk) {
        socket.data.feed(chunk);
      },
      close() {
        console.error("connection closed");
        process.exit(1);
      },
    },
  });
  /** Probes at start + n × interval, as the C pinger schedules them. */
  function probeEvery(): void {
    const start = performance.now();
    let sequence = 0;
    const next = () => {
      sequence++;
      const frame = publish(Buffer.from(String(sequence)));
      sentAt = performance.now();
      socket.write(frame);
      if (sequence < count) setTimeout(next, Math.max(0, start + (sequence + 1) * intervalMs - performance.now()));
    };
    setTimeout(next, intervalMs);
  }
}
