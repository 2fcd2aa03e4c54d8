/** One raw MQTT connection over TCP, TLS or WebSocket: writes any bytes, keeps every packet the server sends. */
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import WebSocket, { createWebSocketStream } from "ws";
import { acknowledgement } from "./codec/encode";
import { PacketReader, type Packet } from "./codec/decode";
import { PacketType, type ProtocolLevel } from "./codec/packet-types";
import type { Target } from "./target";
import { CheckFailed } from "./verdict";

export type PacketMatch = string | ((packet: Packet) => boolean);

export class Connection {
  /** Every packet received, in order. */
  readonly received: Packet[] = [];
  /** Packets received and not yet taken by a check. */
  private unread: Packet[] = [];
  closed = false;
  /** Set when the server's bytes could not even be split into packets. */
  framingError?: string;
  /** Acknowledge the server's QoS 1/2 PUBLISH and PUBREL as a well-behaved client does. */
  autoAcknowledge = true;
  private waiters: Array<() => void> = [];
  private readonly reader: PacketReader;

  private constructor(
    /** A TCP or TLS socket, or a WebSocket's byte stream (each write one binary message). */
    private readonly socket: Duplex,
    readonly level: ProtocolLevel,
  ) {
    this.reader = new PacketReader(level);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("close", () => {
      this.closed = true;
      this.notify();
    });
    socket.on("error", () => {});
  }

  /** Connects the socket; nothing is sent yet. Rejects when the broker cannot be reached in time. */
  static open(target: Target, level: ProtocolLevel, timeoutMs: number): Promise<Connection> {
    if (target.webSocketPath !== undefined) return Connection.openWebSocket(target, level, timeoutMs);
    return new Promise((resolve, reject) => {
      const socket = target.tls
        ? tls.connect({ host: target.host, port: target.port, ca: target.ca, rejectUnauthorized: !target.insecure, servername: net.isIP(target.host) ? undefined : target.host })
        : net.connect({ host: target.host, port: target.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${target.host}:${target.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once(target.tls ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        resolve(new Connection(socket, level));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** MQTT over WebSocket: subprotocol "mqtt", binary messages [MQTT-6.0.0-1], [MQTT-6.0.0-3]. */
  private static openWebSocket(target: Target, level: ProtocolLevel, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const host = net.isIPv6(target.host) ? `[${target.host}]` : target.host;
      const webSocket = new WebSocket(`${target.tls ? "wss" : "ws"}://${host}:${target.port}${target.webSocketPath}`, ["mqtt"], {
        ca: target.ca,
        rejectUnauthorized: !target.insecure,
      });
      const timer = setTimeout(() => {
        webSocket.terminate();
        reject(new Error(`no WebSocket connection to ${target.host}:${target.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      webSocket.once("open", () => {
        clearTimeout(timer);
        (webSocket as unknown as { _socket?: net.Socket })._socket?.setNoDelay(true);
        const stream = createWebSocketStream(webSocket);
        // The stream alone only ends its readable side when the server closes: close it whole, so
        // the connection counts as closed as a TCP socket's would.
        webSocket.once("close", () => stream.destroy());
        resolve(new Connection(stream, level));
      });
      webSocket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  private onData(chunk: Buffer): void {
    let packets: Packet[];
    try {
      packets = this.reader.push(chunk);
    } catch (error) {
      this.framingError = (error as Error).message;
      this.socket.destroy();
      return;
    }
    for (const packet of packets) {
      this.received.push(packet);
      this.unread.push(packet);
      if (this.autoAcknowledge) this.acknowledge(packet);
    }
    this.notify();
  }

  private acknowledge(packet: Packet): void {
    if (packet.type === PacketType.PUBLISH && packet.qos === 1) this.write(acknowledgement(this.level, PacketType.PUBACK, packet.packetId!));
    if (packet.type === PacketType.PUBLISH && packet.qos === 2) this.write(acknowledgement(this.level, PacketType.PUBREC, packet.packetId!));
    if (packet.type === PacketType.PUBREL) this.write(acknowledgement(this.level, PacketType.PUBCOMP, packet.packetId!));
  }

  write(bytes: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Half-closes our side (a clean TCP FIN) without waiting. */
  end(): void {
    this.socket.end();
  }

  /** Drops the connection at once, as a network failure would (no DISCONNECT). */
  destroy(): void {
    this.socket.destroy();
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private takeUnread(match: PacketMatch): Packet | undefined {
    const test = typeof match === "string" ? (packet: Packet) => packet.name === match : match;
    const index = this.unread.findIndex(test);
    if (index < 0) return undefined;
    return this.unread.splice(index, 1)[0];
  }

  /** The first unread packet that matches, waiting up to `timeoutMs`; undefined when none came. */
  async poll(match: PacketMatch, timeoutMs: number): Promise<Packet | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.takeUnread(match);
      if (found) return found;
      const remaining = deadline - Date.now();
      if (this.closed || remaining <= 0) return undefined;
      await this.changed(remaining);
    }
  }

  /** Like poll, but fails the check when nothing matching comes: `what` names what was awaited. */
  async take(match: PacketMatch, timeoutMs: number, what = typeof match === "string" ? match : "the packet"): Promise<Packet> {
    const found = await this.poll(match, timeoutMs);
    if (found) return found;
    const seen = this.unread.map((packet) => packet.name).join(", ") || "nothing";
    const why = this.closed ? "the server closed the connection" : `none within ${timeoutMs} ms`;
    throw new CheckFailed(`expected ${what}: ${why} (unread: ${seen})`);
  }

  /** Resolves true once the server has closed the connection, false if it is still open after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      await this.changed(remaining);
    }
    return true;
  }

  /** Unread packets (not taken by a check), oldest first. */
  peekUnread(): readonly Packet[] {
    return this.unread;
  }
}
