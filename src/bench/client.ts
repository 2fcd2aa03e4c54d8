import type { Socket } from "bun";
import mqttPacket from "mqtt-packet";
import type { BenchTarget, BenchTls } from "./meter";
import { ackMessageId, connackReceiveMaximum, encodeConnect, parsedReceiveMaximum, PacketType, readFrame, readPublish, skipProperties, writeAck, type Frame, type PublishView } from "./frames";

/**
 * One MQTT connection of the load generator, on Bun's native sockets rather than MQTT.js, so the
 * generator outruns the broker: packets are encoded once and patched in place, writes within one
 * turn of the event loop leave as one syscall, and PUBLISH is read in place without allocation.
 */
export interface BenchConnectOptions {
  hostname: string;
  port: number;
  tls?: BenchTls;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSec: number;
  protocolVersion: 4 | 5;
  timeoutMs: number;
  /** The CONNECT to send, encoded by the caller (who opens thousands); else made from the fields above. */
  connectPacket?: Uint8Array;
}

export interface BenchClientEvents {
  /** A PUBLISH arrived; its payload is buf[view.payloadStart, end). Acks are sent for you. */
  publish?(buf: Buffer, view: PublishView, end: number): void;
  /** Our QoS 1 PUBLISH was acknowledged (PUBACK), or our QoS 2 one completed (PUBCOMP). */
  acked?(messageId: number): void;
  /** The connection closed without close() being called. */
  lost?(reason: string): void;
}

export class BenchConnectError extends Error {}

/** One set of socket handlers for every connection (the client is socket.data), not closures per connection. */
const SOCKET_HANDLERS: Bun.SocketHandler<BenchClient> = {
  data: (socket, data) => socket.data.onData(data),
  drain: (socket) => socket.data.onSocketDrain(),
  close: (socket) => socket.data.onClose("the broker closed the connection"),
  error: (socket, error) => socket.data.onClose(error.message),
  // Bun closes a TLS socket whose certificate failed verification; say why, as the clients do.
  handshake: (socket, _success, authorizationError) => {
    if (authorizationError && socket.data.verifiesCertificate) socket.data.onClose(`TLS failed: ${authorizationError.message}`);
  },
};

export class BenchClient {
  events: BenchClientEvents = {};
  private socket!: Socket<BenchClient>;
  private readonly frame: Frame = { type: 0, flags: 0, start: 0, bodyStart: 0, end: 0 };
  private readonly view: PublishView = { qos: 0, messageId: 0, topicStart: 0, topicEnd: 0, payloadStart: 0 };
  /** Bytes of a packet split across reads. */
  private partial: Buffer | null = null;
  /** Writes waiting for the next flush (batched), or for the socket to drain. */
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private blocked = false;
  private closing = false;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  /** Waits for the one CONNACK or SUBACK in flight: (packet type, reason code). */
  private control: ((type: number, code: number) => void) | undefined;
  /** Where acknowledgements are gathered; made on the first one (idle connections never need it). */
  private ackScratch: Buffer | undefined;
  /**
   * QoS 1/2 messages the broker takes unacknowledged from us (MQTT 5 CONNACK Receive Maximum).
   * Beyond it a broker may drop them: mosquitto does, silently, past 20 even under 3.1.1.
   */
  receiveMaximum = 65535;
  /** False with --insecure: a certificate that fails verification is accepted. */
  verifiesCertificate = true;
  /** Called when queued bytes fall to zero after backpressure. */
  onDrain: (() => void) | undefined;

  private constructor(readonly protocolVersion: 4 | 5) {}

  /** True while the socket pushes back: stop producing until onDrain. */
  get congested(): boolean {
    return this.blocked;
  }

  /** A connection to the bench's target, as client `clientId` (CONNECT encoded here unless given). */
  static connectTo(target: BenchTarget, clientId: string, connectPacket?: Uint8Array): Promise<BenchClient> {
    return BenchClient.connect({ ...target, timeoutMs: target.connectTimeoutMs, clientId, connectPacket });
  }

  static async connect(options: BenchConnectOptions): Promise<BenchClient> {
    const client = new BenchClient(options.protocolVersion);
    await client.open(options);
    return client;
  }

  private async open(options: BenchConnectOptions): Promise<void> {
    const deadline = setTimeout(() => this.fail(new BenchConnectError(`no CONNACK within ${options.timeoutMs} ms`)), options.timeoutMs);
    let rejectConnect!: (error: Error) => void;
    const connacked = new Promise<void>((resolve, reject) => {
      rejectConnect = reject;
      this.control = (type, code) => {
        if (type !== PacketType.connack) return;
        if (code !== 0) reject(new BenchConnectError(`CONNACK refused the connection (code ${code})`));
        else resolve();
      };
    });
    this.fail = (error) => rejectConnect(error);
    this.verifiesCertificate = options.tls?.rejectUnauthorized ?? true;
    try {
      this.socket = await Bun.connect({
        hostname: options.hostname,
        port: options.port,
        tls: options.tls ? { ...options.tls, serverName: options.hostname } : undefined,
        data: this,
        socket: SOCKET_HANDLERS,
      });
      this.socket.setNoDelay(true);
      this.send(options.connectPacket ?? encodeConnect(options));
      await connacked;
    } catch (error) {
      this.socket?.terminate();
      throw error instanceof BenchConnectError ? error : new BenchConnectError((error as Error).message);
    } finally {
      clearTimeout(deadline);
      this.control = undefined;
      this.fail = () => {};
    }
    if (options.keepaliveSec > 0) {
      const pingreq = mqttPacket.generate({ cmd: "pingreq" });
      this.pingTimer = setInterval(() => this.send(pingreq), options.keepaliveSec * 750);
      this.pingTimer.unref?.();
    }
  }

  private fail: (error: Error) => void = () => {};

  async subscribe(topic: string, qos: 0 | 1 | 2): Promise<void> {
    const granted = new Promise<void>((resolve, reject) => {
      this.control = (type, code) => {
        if (type !== PacketType.suback) return;
        if (code >= 0x80) reject(new BenchConnectError(`the broker refused the subscription to ${topic} (code ${code})`));
        else resolve();
      };
      this.fail = reject;
    });
    this.send(mqttPacket.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos }] }, { protocolVersion: this.protocolVersion }));
    try {
      await granted;
    } finally {
      this.control = undefined;
      this.fail = () => {};
    }
  }

  /** Queues bytes; everything queued in this turn of the event loop leaves in one write. */
  send(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      queueMicrotask(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.blocked || this.queuedBytes === 0 || this.closing) return;
    const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queuedBytes);
    const written = this.socket.write(data);
    if (written === data.length) {
      this.queue = [];
      this.queuedBytes = 0;
      return;
    }
    // The kernel buffer is full: keep the rest and wait for drain.
    const rest = data.subarray(Math.max(0, written));
    this.queue = [rest];
    this.queuedBytes = rest.length;
    this.blocked = true;
  };

  /** @internal For SOCKET_HANDLERS. */
  onSocketDrain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.flush();
    if (!this.blocked) this.onDrain?.();
  }

  /** @internal For SOCKET_HANDLERS. */
  onData(data: Buffer): void {
    let buf = data;
    if (this.partial) {
      buf = Buffer.concat([this.partial, data]);
      this.partial = null;
    }
    const frame = this.frame;
    let offset = 0;
    let acks = 0;
    let scratch = this.ackScratch;
    while (readFrame(buf, offset, frame)) {
      offset = frame.end;
      switch (frame.type) {
        case PacketType.publish: {
          const view = this.view;
          readPublish(buf, frame, this.protocolVersion, view);
          if (view.qos > 0) {
            scratch ??= this.ackScratch = Buffer.allocUnsafe(4096);
            if (acks + 4 > scratch.length) {
              this.send(Buffer.from(scratch.subarray(0, acks)));
              acks = 0;
            }
            acks = writeAck(scratch, acks, view.qos === 1 ? PacketType.puback : PacketType.pubrec, view.messageId);
          }
          this.events.publish?.(buf, view, frame.end);
          break;
        }
        case PacketType.puback:
        case PacketType.pubcomp:
          this.events.acked?.(ackMessageId(buf, frame));
          break;
        case PacketType.pubrec:
          scratch ??= this.ackScratch = Buffer.allocUnsafe(4096);
          if (acks + 4 > scratch.length) {
            this.send(Buffer.from(scratch.subarray(0, acks)));
            acks = 0;
          }
          acks = writeAck(scratch, acks, PacketType.pubrel, ackMessageId(buf, frame));
          break;
        case PacketType.pubrel:
          scratch ??= this.ackScratch = Buffer.allocUnsafe(4096);
          if (acks + 4 > scratch.length) {
            this.send(Buffer.from(scratch.subarray(0, acks)));
            acks = 0;
          }
          acks = writeAck(scratch, acks, PacketType.pubcomp, ackMessageId(buf, frame));
          break;
        case PacketType.connack:
          // Session-present flag, then the return (3.1.1) or reason (5) code.
          if (this.protocolVersion === 5) this.receiveMaximum = connackReceiveMaximum(buf, frame) ?? parsedReceiveMaximum(buf.subarray(frame.start, frame.end));
          this.control?.(PacketType.connack, buf[frame.bodyStart + 1] ?? 0x80);
          break;
        case PacketType.suback: {
          // Message id, (5: properties,) then one granted QoS or failure code per topic.
          let pos = frame.bodyStart + 2;
          if (this.protocolVersion === 5) pos = skipProperties(buf, pos);
          this.control?.(PacketType.suback, buf[pos] ?? 0x80);
          break;
        }
        case PacketType.disconnect: {
          const code = frame.end > frame.bodyStart ? buf[frame.bodyStart]! : 0;
          this.onClose(`the broker sent DISCONNECT (reason 0x${code.toString(16).padStart(2, "0")})`);
          break;
        }
        default:
          break; // PINGRESP and anything a client need not answer
      }
    }
    if (acks > 0) this.send(Buffer.from(scratch!.subarray(0, acks)));
    if (offset < buf.length) this.partial = Buffer.from(buf.subarray(offset));
  }

  /** @internal For SOCKET_HANDLERS. */
  onClose(reason: string): void {
    clearInterval(this.pingTimer);
    if (this.closing) return;
    this.closing = true;
    this.fail(new BenchConnectError(reason));
    this.events.lost?.(reason);
  }

  /** Sends DISCONNECT and closes. */
  close(): void {
    if (this.closing) return;
    this.flush();
    this.closing = true;
    clearInterval(this.pingTimer);
    this.socket.end(mqttPacket.generate({ cmd: "disconnect" }, { protocolVersion: this.protocolVersion }));
  }

  /** Closes at once, without DISCONNECT. */
  terminate(): void {
    this.closing = true;
    clearInterval(this.pingTimer);
    this.socket?.terminate();
  }
}
