// MQTT over WebSocket (ws://host:port/mqtt), on Bun's own server: Bun has no ws.createWebSocketStream,
// so each WebSocket is wrapped in a small Duplex that aedes reads and writes like a socket.
import { Duplex } from "node:stream";
import type { Server, ServerWebSocket } from "bun";
import type { ListenerStarter } from "../server";
import { READ_HIGH_WATER_MARK } from "./read-limit";
import { bindAll } from "./bind";
import { log } from "../../log";
import { originAllowed, type AllowedOrigins } from "./ws-origin";

export interface WebSocketListenerOptions {
  host: string;
  port: number;
  /** The largest MQTT packet allowed (--max-packet-size): a WebSocket message may carry one whole. */
  maxMessageBytes: number;
  /** Browser pages (by their Origin header) that may connect; programs send none and always may. */
  allowedOrigins: AllowedOrigins;
}

export const WEBSOCKET_PATH = "/mqtt";

/** The subprotocols MQTT clients offer (MQTT.js: "mqtt"; some 3.1 clients: "mqttv3.1"). */
const SUBPROTOCOLS = ["mqtt", "mqttv3.1"];

/** One WebSocket as a byte stream: every binary message in, every write out as one message. */
export class WebSocketDuplex extends Duplex {
  bytesRead = 0;
  bytesWritten = 0;
  /** The peer's address, as a socket has it (the login back-off is kept per address). */
  readonly remoteAddress: string;
  private waitingForDrain: ((error?: Error | null) => void) | undefined;
  private readPaused = false;

  constructor(private readonly ws: ServerWebSocket<Connection>) {
    super({ readableHighWaterMark: READ_HIGH_WATER_MARK });
    this.remoteAddress = ws.remoteAddress;
  }

  /** Incoming data is pushed as it arrives (see receive); this is called when aedes wants more. */
  override _read(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.ws.resume();
  }

  /**
   * read() without a size must return all buffered data (Node's contract, which aedes relies on), but
   * Bun's Readable returns only the first pushed chunk. MQTT.js sends a packet as several WebSocket
   * messages, so aedes would parse a piece, wait for a 'readable' that never comes, and stall.
   */
  override read(size?: number): Buffer | null {
    return super.read(size ?? (this.readableLength || undefined));
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

  receive(message: string | Buffer): void {
    const data = typeof message === "string" ? Buffer.from(message) : message;
    this.bytesRead += data.length;
    // Messages already read still arrive after pause(); push() keeps them.
    if (!this.push(data) && !this.readPaused) {
      this.readPaused = true;
      this.ws.pause();
    }
  }

  drained(error?: Error): void {
    const callback = this.waitingForDrain;
    this.waitingForDrain = undefined;
    callback?.(error);
  }

  peerClosed(): void {
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
            const origin = request.headers.get("origin");
            if (!originAllowed(origin, options.allowedOrigins)) {
              log.info(`Refused a WebSocket from a page at ${origin} (not in --ws-origin).`);
              return new Response("This page's origin may not connect (see the broker's --ws-origin)\n", { status: 403 });
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
              ws.data.stream?.drained();
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
