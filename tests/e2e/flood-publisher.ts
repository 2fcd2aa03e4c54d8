// A publisher that writes PUBLISH packets as fast as its connection takes them, over TCP, TLS or
// WebSocket: MQTT.js would buffer them in this process instead, and hide whether the broker stops reading.
import { afterEach } from "bun:test";
import net from "node:net";
import tls from "node:tls";
import mqttPacket, { type Packet } from "mqtt-packet";

export type Transport = "tcp" | "tls" | "ws";

const open = new Set<FloodPublisher>();

afterEach(() => {
  for (const publisher of open) publisher.close();
  open.clear();
});

export class FloodPublisher {
  /** PUBACKs received. */
  pubacks = 0;
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private inbound = Buffer.alloc(0);
  private upgraded: boolean;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly socket: net.Socket,
    private readonly transport: Transport,
  ) {
    this.upgraded = transport !== "ws";
    this.parser.on("packet", (packet: Packet) => {
      if (packet.cmd === "puback") this.pubacks++;
      this.notify();
    });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {});
  }

  /** Connects (MQTT 3.1.1: no Receive Maximum to keep to) and waits for the CONNACK. `port` is the transport's listener. */
  static async connect(transport: Transport, port: number, clientId: string): Promise<FloodPublisher> {
    const socket = transport === "tls" ? tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }) : net.connect({ host: "127.0.0.1", port });
    await new Promise((resolve, reject) => socket.once(transport === "tls" ? "secureConnect" : "connect", resolve).once("error", reject));
    const publisher = new FloodPublisher(socket, transport);
    open.add(publisher);
    if (transport === "ws") {
      socket.write(
        `GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
      );
      await publisher.until(() => publisher.upgraded, "the WebSocket upgrade");
    }
    let connacked = false;
    publisher.parser.once("packet", (packet: Packet) => void (connacked = packet.cmd === "connack"));
    publisher.write(mqttPacket.generate({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId, clean: true, keepalive: 0 } as Packet));
    await publisher.until(() => connacked, "CONNACK");
    return publisher;
  }

  /**
   * Sends QoS 1 PUBLISH packets with ids from..to as fast as the connection takes them (or one per
   * `paceMs`), until all are written or the connection has taken nothing for `stallMs`. Returns the
   * bytes written and the next id.
   */
  async publishQoS1(topic: string, payload: Buffer, from: number, to: number, stallMs: number, paceMs = 0): Promise<{ written: number; next: number }> {
    let written = 0;
    for (let id = from; id <= to; id++) {
      const packet = mqttPacket.generate({ cmd: "publish", topic, payload, qos: 1, messageId: id, retain: false, dup: false } as Packet);
      written += packet.length;
      // Paced, each packet arrives on its own: the hardest case for a broker that must stop reading.
      if (paceMs > 0) await Bun.sleep(paceMs);
      if (this.write(packet)) continue;
      const drained = new Promise<boolean>((resolve) => this.socket.once("drain", () => resolve(true)));
      // A deadline on the drain, not a sleep: the connection is stalled once it takes nothing for stallMs.
      if (!(await Promise.race([drained, Bun.sleep(stallMs).then(() => false)]))) return { written, next: id + 1 };
    }
    return { written, next: to + 1 };
  }

  /** Resolves once `count` PUBACKs have come. */
  async waitForPubacks(count: number, timeoutMs: number): Promise<void> {
    await this.until(() => this.pubacks >= count, `${count} PUBACKs (${this.pubacks} so far)`, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Writes bytes (a WebSocket frame each, masked as a client must, with a zero key); false: wait for 'drain'. */
  private write(data: Buffer): boolean {
    if (this.transport !== "ws") return this.socket.write(data);
    const length = data.length;
    const header = Buffer.alloc(length < 126 ? 6 : length < 65536 ? 8 : 14);
    header[0] = 0x82; // FIN, binary
    if (length < 126) header[1] = 0x80 | length;
    else if (length < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(length, 2);
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(length), 2);
    }
    return this.socket.write(Buffer.concat([header, data]));
  }

  /** Incoming bytes: the HTTP upgrade answer, then (unmasked) WebSocket frames, or plain MQTT. */
  private onData(chunk: Buffer): void {
    if (this.transport !== "ws") return void this.parser.parse(chunk);
    this.inbound = Buffer.concat([this.inbound, chunk]);
    if (!this.upgraded) {
      const end = this.inbound.indexOf("\r\n\r\n");
      if (end < 0) return;
      if (!this.inbound.subarray(0, end).toString().startsWith("HTTP/1.1 101")) throw new Error(`WebSocket upgrade refused: ${this.inbound.toString()}`);
      this.inbound = this.inbound.subarray(end + 4);
      this.upgraded = true;
      this.notify();
    }
    for (;;) {
      if (this.inbound.length < 2) return;
      let length = this.inbound[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.inbound.length < 4) return;
        length = this.inbound.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.inbound.length < 10) return;
        length = Number(this.inbound.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.inbound.length < offset + length) return;
      const opcode = this.inbound[0]! & 0x0f;
      if (opcode === 0x2 || opcode === 0x0) this.parser.parse(this.inbound.subarray(offset, offset + length));
      this.inbound = this.inbound.subarray(offset + length);
    }
  }

  private async until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), Bun.sleep(Math.min(remaining, 250))]);
    }
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
