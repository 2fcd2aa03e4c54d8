// MQTT over WebSocket (ws://host:port/mqtt), on Bun's own server: Bun has no ws.createWebSocketStream,
// so each WebSocket is wrapped in a small Duplex that aedes reads and writes like a socket.
import { Duplex } from "node:stream";
import type { Server, ServerWebSocket } from "bun";
import type { ListenerStarter } from "../server";
import { bindAll } from "./bind";

export interface WebSocketListenerOptions {
  host: string;
  port: number;
  /** The largest MQTT packet allowed (--max-packet-size): a WebSocket message may carry one whole. */
  maxMessageBytes: number;
}

export const WEBSOCKET_PATH = "/mqtt";

/** The subprotocols MQTT clients offer (MQTT.js: "mqtt"; some 3.1 clients: "mqttv3.1"). */
const SUBPROTOCOLS = ["mqtt", "mqttv3.1"];

/** Past this much input aedes has not read yet, stop reading the WebSocket, as the TCP listener does:
 * a publisher over ws:// then sees TCP back-pressure. Without it, a broker waiting on a stuck QoS 1
 * subscriber took in all a fast publisher sent (188 MiB in half a second, 170 MB of heap). */
const READ_HIGH_WATER_MARK = 256 * 1024;

/** Bun may hold this much of what was sent before the stream takes more (64 KiB, as on TCP). */
const WRITE_HIGH_WATER_MARK = 64 * 1024;

/** One WebSocket as a byte stream: every binary message in, every write out as one message. */
export class WebSocketDuplex extends Duplex {
  bytesRead = 0;
  bytesWritten = 0;
  private waitingForDrain: ((error?: Error | null) => void) | undefined;
  private readPaused = false;
  /** Received this turn, not yet handed on (see receive). */
  private arriving: Buffer[] = [];
  private arrivingBytes = 0;
  /** 'readable' was emitted and aedes has not called read() since. */
  private readableSignalled = false;

  constructor(private readonly ws: ServerWebSocket<Connection>) {
    super({ readableHighWaterMark: READ_HIGH_WATER_MARK });
  }

  /** Incoming data is pushed as it arrives (see receive); this is called when aedes wants more. */
  override _read(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.ws.resume();
  }

  /** Bytes sent and held by Bun until the socket drains. Not added to writableLength: until its
   * callback the message being sent is counted there already. */
  private get bufferedByBun(): number {
    return this.ws.readyState === 1 ? this.ws.getBufferedAmount() : 0;
  }

  /**
   * read() without a size must return all buffered data (Node's contract, which aedes relies on), but
   * Bun's Readable returns only the first pushed chunk. MQTT.js sends a packet as several WebSocket
   * messages, so aedes would parse a piece, wait for a 'readable' that never comes, and stall.
   */
  override read(size?: number): Buffer | null {
    if (size !== 0) this.readableSignalled = false; // read(0) is Node's own "fill the buffer"
    return super.read(size ?? (this.readableLength || undefined));
  }

  /**
   * 'readable' once until aedes reads, as the TCP listener's SocketStream does. A Node stream emits it
   * for every message while less than the high-water mark is buffered, and aedes counts each one as
   * a packet handled, so it would read on past packets it is still handling (see receive).
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "readable") {
      if (this.readableSignalled) return false;
      this.readableSignalled = true;
    }
    return super.emit(event, ...args);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  /** Packets aedes writes in one go leave as one WebSocket message (MQTT may span messages). */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    const status = this.ws.send(data);
    if (status === 0) return callback(new Error("WebSocket closed"));
    this.bytesWritten += data.length;
    // -1: queued behind earlier data; take more only once Bun says it drained.
    if (status === -1) this.waitingForDrain = callback;
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.ws.close();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.ws.close();
    this.drained(error ?? new Error("WebSocket closed"));
    callback(error);
  }

  /**
   * Messages are handed on once per turn of the event loop, all that came in one read from the socket
   * together, as TCP hands on a chunk: aedes, given one packet per read, reads on past a packet it is
   * still handling (a QoS 1 PUBLISH held back for a stuck subscriber) and never stops reading.
   */
  receive(message: string | Buffer): void {
    const data = typeof message === "string" ? Buffer.from(message) : message;
    this.bytesRead += data.length;
    if (this.arriving.length === 0) setImmediate(this.handOn);
    this.arriving.push(data);
    this.arrivingBytes += data.length;
    // Messages already read still arrive after pause(); they are kept.
    if (!this.readPaused && this.readableLength + this.arrivingBytes >= READ_HIGH_WATER_MARK) {
      this.readPaused = true;
      this.ws.pause();
    }
  }

  private readonly handOn = (): void => {
    const chunks = this.arriving;
    this.arriving = [];
    this.arrivingBytes = 0;
    if (chunks.length > 0 && !this.destroyed) this.push(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  };

  /** Bun's drain: some of what it held went out. Take more once most of it has: what Bun still holds
   * then is no longer in writableLength, and each early drain would add a whole buffer to it. */
  onDrain(): void {
    if (this.bufferedByBun < WRITE_HIGH_WATER_MARK) this.drained();
  }

  drained(error?: Error): void {
    const callback = this.waitingForDrain;
    this.waitingForDrain = undefined;
    callback?.(error);
  }

  peerClosed(): void {
    this.handOn();
    this.push(null);
    this.destroy();
  }
}

interface Connection {
  stream?: WebSocketDuplex;
}

export function webSocketListener(options: WebSocketListenerOptions): ListenerStarter {
  return (accept) =>
    bindAll(
      options.host,
      options.port,
      async (host, port) => {
        // No setNoDelay here: Bun.serve turns TCP_NODELAY on for every socket it accepts (seen with
        // strace on Bun 1.4.5), and a ServerWebSocket has no way to set it. The ws:// latency test pins it.
        const server: Server<Connection> = Bun.serve<Connection>({
          hostname: host,
          port,
          fetch(request, server) {
            if (new URL(request.url).pathname !== WEBSOCKET_PATH) {
              return new Response(`MQTT over WebSocket is at ${WEBSOCKET_PATH}\n`, { status: 404 });
            }
            const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
            const protocol = offered.find((p) => SUBPROTOCOLS.includes(p));
            const headers = protocol ? { "Sec-WebSocket-Protocol": protocol } : undefined;
            if (server.upgrade(request, { data: {}, headers })) return undefined;
            return new Response("Expected a WebSocket upgrade\n", { status: 426 });
          },
          websocket: {
            perMessageDeflate: false,
            // Bun's default (16 MiB) would cut packets that --max-packet-size allows. The slack lets a
            // packet a little over the limit reach aedes, which refuses it with 0x95 as on TCP.
            maxPayloadLength: options.maxMessageBytes + 64 * 1024,
            open(ws) {
              ws.data.stream = new WebSocketDuplex(ws);
              accept(ws.data.stream);
            },
            message(ws, message) {
              ws.data.stream?.receive(message);
            },
            drain(ws) {
              ws.data.stream?.onDrain();
            },
            close(ws) {
              ws.data.stream?.peerClosed();
            },
          },
        });
        // Not stop(true): that would cut the WebSockets before aedes has said DISCONNECT on them.
        return { port: server.port!, close: async () => void (await server.stop()) };
      },
      (address) => `ws://${address}${WEBSOCKET_PATH}`,
    );
}
