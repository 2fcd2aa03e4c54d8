import type { Duplex } from "node:stream";
import { Aedes, type AedesOptions } from "aedes";
import mqttPacket from "mqtt-packet";
import { SocketStream } from "./listeners/socket-stream";
import { guardProtocol } from "./protocol-guard";

/**
 * A connection with no socket under it: bytes go in as a socket read would hand them, and what the
 * broker writes goes to `onWrite`. For running the broker's message path in process (the warm-up
 * below, scripts/hotpath.ts).
 */
export class LoopbackConnection {
  /** Called with the next write only: set it again for the one after. */
  onWrite: ((bytes: Uint8Array) => void) | undefined;
  readonly stream: SocketStream;

  constructor() {
    const socket = {
      data: undefined,
      write: (bytes: Uint8Array) => {
        const waiting = this.onWrite;
        this.onWrite = undefined;
        waiting?.(bytes);
        return bytes.byteLength;
      },
      pause: () => true,
      resume: () => true,
      end() {},
      terminate() {},
      setNoDelay() {},
    };
    this.stream = new SocketStream(socket as never);
  }

  /** Hands `bytes` to the broker and resolves with the first packet of type `type` it writes back. */
  exchange(bytes: Uint8Array, type: number): Promise<Uint8Array> {
    return new Promise((resolve) => {
      const onWrite = (written: Uint8Array) => {
        const packet = packetOfType(written, type);
        if (packet) resolve(packet);
        else this.onWrite = onWrite;
      };
      this.onWrite = onWrite;
      this.stream.onData(Buffer.from(bytes));
    });
  }
}

/** The first whole packet of type `type` in `bytes` (one write may hold several packets). */
export function packetOfType(bytes: Uint8Array, type: number): Uint8Array | undefined {
  let offset = 0;
  while (offset + 2 <= bytes.length) {
    let length = 0;
    let pos = offset + 1;
    for (let shift = 0; pos < bytes.length; shift += 7) {
      const byte = bytes[pos++]!;
      length += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) break;
    }
    const end = pos + length;
    if (bytes[offset]! >> 4 === type) return bytes.subarray(offset, end);
    offset = end;
  }
  return undefined;
}

/** The messages each kind of publisher sends through the warm-up (see warmUpMessagePath). */
const MESSAGES_PER_KIND = 1000;
/** Messages between two turns of the event loop, so real clients are served meanwhile. */
const MESSAGES_PER_TURN = 100;

/** The publishers the warm-up plays: MQTT 3.1.1 and 5, QoS 0 and 1, with and without MQTT 5 properties (a ping's probe has them). */
const KINDS: Array<{ protocolVersion: 4 | 5; qos: 0 | 1; properties?: object }> = [
  { protocolVersion: 4, qos: 0 },
  { protocolVersion: 5, qos: 0 },
  { protocolVersion: 5, qos: 0, properties: { responseTopic: "warm-up/pong", correlationData: Buffer.from("warm-up!") } },
  { protocolVersion: 5, qos: 1 },
];

export interface WarmUp {
  /** Resolves once the warm-up is over: true when it ran through, false when stopped or failed. */
  readonly done: Promise<boolean>;
  /** Ends it now (the broker is closing); resolves when its private broker is closed. */
  stop(): Promise<void>;
}

/**
 * Runs the broker's message path a few thousand times right after start, through a private aedes
 * with no listener, hook, persistence or cluster of the real one (its connections wrapped as the
 * broker wraps every connection: `handle`), so that the JIT has compiled the
 * code every message runs (the parser, the routing, the writer, the socket stream) before the first
 * real message. Without it, a broker that sees a message every second or so runs it in the
 * interpreter's and baseline JIT's code for minutes, and that code costs several times as much after
 * an idle moment. Nothing of the private broker is seen from outside: no log line, no metric, no
 * socket.
 */
export function warmUpMessagePath(aedesOptions: AedesOptions, handle: HandleConnection = defaultHandle, messagesPerKind = MESSAGES_PER_KIND): WarmUp {
  let stopped = false;
  let closed: Promise<void> | undefined;
  const created = Aedes.createBroker({ ...aedesOptions, announceClients: false } as AedesOptions);
  const close = () => (closed ??= created.then((aedes) => new Promise<void>((resolve) => aedes.close(() => resolve()))));
  const run = async () => {
    const aedes = await created;
    for (const kind of KINDS) if (!stopped) await publishToSelf(aedes, handle, kind, messagesPerKind, () => stopped);
    await close();
    if (stopped) return false;
    // Give back the warm-up's garbage now, once, rather than carry it until the heap grows.
    Bun.gc(true);
    return true;
  };
  let stoppedNow!: (ranThrough: boolean) => void;
  const stopping = new Promise<boolean>((resolve) => (stoppedNow = resolve));
  // A failure here costs only speed: the real broker is not touched by it.
  const done = Promise.race([
    run().catch(() => {
      void close().catch(() => {});
      return false;
    }),
    stopping,
  ]);
  return {
    done,
    stop: () => {
      // Closing the private broker ends the warm-up wherever it is (its connections close with it).
      stopped = true;
      stoppedNow(false);
      return close().catch(() => {});
    },
  };
}

/** How the broker takes a new connection: aedes's handle() and the wrappers the broker puts on every client. */
export type HandleConnection = (aedes: Aedes, stream: Duplex) => void;

const defaultHandle: HandleConnection = (aedes, stream) => guardProtocol(aedes.handle(stream));

async function publishToSelf(aedes: Aedes, handle: HandleConnection, kind: (typeof KINDS)[number], messages: number, stopped: () => boolean): Promise<void> {
  const { protocolVersion, qos } = kind;
  const encode = (packet: object) => mqttPacket.generate(packet as never, { protocolVersion });
  const connection = new LoopbackConnection();
  handle(aedes, connection.stream as unknown as Duplex);
  const topic = "warm-up/ping";
  await connection.exchange(encode({ cmd: "connect", protocolId: "MQTT", protocolVersion, clientId: `warm-up-${protocolVersion}-${qos}`, clean: true, keepalive: 0 }), 2);
  await connection.exchange(encode({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos }] }), 9);
  const payload = Buffer.from("1733520000.123456 warm-up");
  const publish = encode({ cmd: "publish", topic, payload, qos, messageId: qos > 0 ? 1 : undefined, retain: false, dup: false, properties: kind.properties });
  for (let k = 1; k <= messages && !stopped(); k++) {
    const delivery = await connection.exchange(publish, 3);
    if (qos > 0) {
      // Acknowledge the delivery by its packet id: after the fixed header (2 bytes here) and the topic.
      const at = 4 + ((delivery[2]! << 8) | delivery[3]!);
      connection.stream.onData(Buffer.from([0x40, 2, delivery[at]!, delivery[at + 1]!]));
    }
    if (k % MESSAGES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  connection.stream.onClose();
}
