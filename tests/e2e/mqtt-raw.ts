// A bare MQTT connection for what MQTT.js will not do: hold acknowledgements back, or break a rule
// on purpose. Packets are encoded and parsed by mqtt-packet, MQTT.js's own codec.
import { afterEach } from "bun:test";
import { connect, type Socket } from "node:net";
import mqttPacket, { type Packet } from "mqtt-packet";

const open = new Set<RawClient>();

afterEach(() => {
  for (const client of open) client.close();
  open.clear();
});

export class RawClient {
  readonly received: Packet[] = [];
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly socket: Socket,
    readonly protocolVersion: 4 | 5,
  ) {
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on("packet", (packet) => {
      this.received.push(packet);
      this.notify();
    });
    socket.on("data", (chunk: Buffer) => parser.parse(chunk));
    socket.on("close", () => {
      this.closed = true;
      this.notify();
    });
    socket.on("error", () => {});
  }

  /** Opens a TCP connection to 127.0.0.1:port; nothing is sent yet. */
  static async open(port: number, protocolVersion: 4 | 5): Promise<RawClient> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const client = new RawClient(socket, protocolVersion);
    open.add(client);
    return client;
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** Several packets in one write, so the broker reads (and parses) them as one batch. */
  sendTogether(packets: Packet[]): void {
    this.socket.write(Buffer.concat(packets.map((packet) => mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }))));
  }

  /** Bytes as they are, for packets mqtt-packet refuses to encode. */
  sendBytes(bytes: number[]): void {
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Resolves with the first received packet matching `predicate` (seen before or after the call). */
  async waitFor<T extends Packet>(predicate: (packet: Packet) => boolean, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(predicate);
      if (found) return found as T;
      if (this.closed) throw new Error(`connection closed; received ${this.describe()}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out; received ${this.describe()}`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), Bun.sleep(Math.min(remaining, 250))]);
    }
  }

  /** Resolves when the broker has closed the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`still open after ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), Bun.sleep(Math.min(remaining, 250))]);
    }
  }

  close(): void {
    this.socket.destroy();
  }

  describe(): string {
    return this.received.map((p) => p.cmd).join(", ") || "nothing";
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
