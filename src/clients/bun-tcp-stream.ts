import type { Socket } from "bun";
import type { MqttClient } from "mqtt";
import { Duplex } from "node:stream";

type PausableSocket = Socket<undefined> & { pause(): void; resume(): void };

/**
 * MQTT over plain TCP on Bun's native sockets (Bun.connect) instead of node:net, for the clients.
 * Under Bun, node:net is a stream layer over the same native socket; at a probe a second each read
 * and write crosses it cold, which made up much of ping's and echo's share of a round trip
 * (docs/performance-log.md, "The cold path at a ping's pace"). This is the small Duplex MQTT.js
 * needs (pipe, write, end, destroy; 'connect', 'error', 'close'), and two ways past it for the probe
 * path: chunk listeners called with each read before the stream sees it, and writeNow(), which hands a
 * whole packet to the socket when nothing is queued ahead of it. TLS, WebSocket and SOCKS stay on
 * MQTT.js's own transports.
 */
export class BunTcpStream extends Duplex {
  /** Called with each chunk as the socket reads it, before it is pushed into the stream (see ChunkListener). */
  readonly chunkListeners: ChunkListener[] = [];
  /** Chunks held back after an early answer, in order, each with what to run just before it is pushed. */
  private held: Array<{ chunk: Buffer; beforeRead: Array<() => void> }> = [];
  /** A release of held chunks is scheduled (a timer after an answer, then one per turn). */
  private releasePending = false;
  private socket: Socket<undefined> | undefined;
  /** send(2) calls made (each whole write or writev of the stream, or a rest after a partial one). */
  sends = 0;
  private noDelay = true;
  /** A write the socket took only part of: the rest, and the callback to call once it is out. */
  private unsent: { bytes: Uint8Array; done: (error?: Error | null) => void } | undefined;
  /** Bytes written before the socket opened, in order (taken at once, as node:net takes them). */
  private beforeOpen: Uint8Array[] = [];

  constructor(readonly host: string, readonly port: number) {
    super({ allowHalfOpen: false });
    const stream = this;
    Bun.connect<undefined>({
      hostname: host,
      port,
      socket: {
        open(socket) {
          if (stream.destroyed) return void socket.terminate();
          stream.socket = socket;
          socket.setNoDelay(stream.noDelay);
          // What was written before the socket opened (the CONNECT, in mqtt-packet's pieces) leaves in one
          // send, ahead of anything written from here on.
          const queued = stream.beforeOpen;
          stream.beforeOpen = [];
          if (queued.length > 0) stream.send(queued.length === 1 ? queued[0]! : Buffer.concat(queued), (error) => error && stream.destroy(error));
          stream.emit("connect");
          stream.emit("ready");
        },
        data(_socket, chunk) {
          stream.readChunk(chunk);
        },
        drain(socket) {
          const unsent = stream.unsent;
          if (!unsent) return;
          stream.sends++;
          const written = socket.write(unsent.bytes);
          if (written < unsent.bytes.length) return void (unsent.bytes = unsent.bytes.subarray(Math.max(0, written)));
          stream.unsent = undefined;
          unsent.done();
        },
        end() {
          stream.releaseHeld(true);
          stream.push(null);
        },
        close(_socket, error) {
          stream.socket = undefined;
          stream.releaseHeld(true);
          stream.failPending(error ?? new Error("socket closed"));
          if (error) stream.destroy(error);
          else {
            stream.push(null);
            stream.destroy();
          }
        },
        error(_socket, error) {
          stream.destroy(error);
        },
      },
    }).catch((error: Error & { code?: string }) => this.destroy(connectErrorLike(error, host, port)));
  }

  /**
   * A chunk that a listener answered early is handed to MQTT.js HOLD_AFTER_ANSWER_MS later, with every
   * chunk after it (order kept): its work would otherwise run on this CPU at once, where the kernel
   * tends to wake the broker that our answer just reached, and delay the answer's way on.
   */
  private readChunk(chunk: Buffer): void {
    const beforeRead: Array<() => void> = [];
    let answered = false;
    for (const listener of this.chunkListeners) {
      const outcome = listener(chunk);
      if (!outcome) continue;
      beforeRead.push(outcome.beforeRead);
      answered ||= outcome.answered;
    }
    if (!answered && this.held.length === 0) {
      for (const run of beforeRead) run();
      return this.pushChunk(chunk);
    }
    this.held.push({ chunk, beforeRead });
    if (this.releasePending) return;
    this.releasePending = true;
    setTimeout(() => this.releaseHeld(), HOLD_AFTER_ANSWER_MS);
  }

  /**
   * Hands held chunks to MQTT.js one per turn of the event loop, as the socket would have: MQTT.js
   * works through a chunk's packets over several ticks, and the fast path's flags for a chunk must
   * be used up before the next chunk's are set. `all` (the connection is ending) hands them all now.
   */
  private releaseHeld(all = false): void {
    this.releasePending = false;
    while (this.held.length > 0 && !this.destroyed) {
      const { chunk, beforeRead } = this.held.shift()!;
      for (const run of beforeRead) run();
      this.pushChunk(chunk);
      if (!all) break;
    }
    if (this.held.length === 0 || this.destroyed) return;
    this.releasePending = true;
    setImmediate(() => this.releaseHeld());
  }

  setNoDelay(on = true): this {
    this.noDelay = on;
    this.socket?.setNoDelay(on);
    return this;
  }

  /**
   * Writes a whole packet to the socket now, when nothing is queued ahead of it (so order is kept);
   * otherwise through the stream. For the probe path's QoS 0 PUBLISHes.
   */
  writeNow(bytes: Uint8Array): void {
    if (this.socket && !this.unsent && this.writableLength === 0 && !this.writableCorked) return this.send(bytes, noop);
    this.write(bytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.send(chunk, done);
  }

  /** As node:net does: past the stream's buffer (its reader is behind), stop reading the socket until _read. */
  private pushChunk(chunk: Buffer): void {
    if (!this.push(chunk)) (this.socket as PausableSocket | undefined)?.pause();
  }

  /** Corked writes (mqtt-packet writes a packet in pieces, corked until the next tick) leave in one send, as node:net's writev does. */
  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map(({ chunk }) => chunk)), done);
  }

  override _read(): void {
    (this.socket as PausableSocket | undefined)?.resume();
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.socket) this.socket.end();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.held = [];
    this.socket?.terminate();
    this.socket = undefined;
    this.failPending(error ?? new Error("stream destroyed"));
    done(error);
  }

  /** Sends now, or after a partial send still going out, or once the socket opens (taken at once, then). */
  private send(bytes: Uint8Array, done: (error?: Error | null) => void): void {
    if (!this.socket) {
      this.beforeOpen.push(bytes);
      return done();
    }
    if (this.unsent) {
      // Behind a partial write: wait for it (the stream calls _write one at a time, so only writeNow gets here).
      const previous = this.unsent;
      this.unsent = {
        bytes: Buffer.concat([previous.bytes, bytes]),
        done: (error) => {
          previous.done(error);
          done(error);
        },
      };
      return;
    }
    this.sends++;
    const written = this.socket.write(bytes);
    if (written === bytes.length) return void done();
    this.unsent = { bytes: bytes.subarray(Math.max(0, written)), done };
  }

  private failPending(error: Error): void {
    const pending = this.unsent ? [this.unsent] : [];
    this.beforeOpen = [];
    this.unsent = undefined;
    for (const { done } of pending) done(error);
  }
}

const noop = () => {};

/** A connect failure worded as node:net words it ("connect ECONNREFUSED 127.0.0.1:1883"), code kept. */
function connectErrorLike(error: Error & { code?: string }, host: string, port: number): Error {
  if (!error.code || /^getaddrinfo /.test(error.message)) return error;
  const worded = new Error(`connect ${error.code} ${host}:${port}`) as Error & { code?: string };
  worded.code = error.code;
  return worded;
}

/** How long a chunk answered early waits before MQTT.js reads it (BunTcpStream.readChunk). */
export const HOLD_AFTER_ANSWER_MS = 2;

/**
 * Sees a chunk as it is read. It may return what must run just before MQTT.js reads that chunk, and
 * whether it answered from it; an answered chunk is held back a moment (BunTcpStream.readChunk).
 */
export type ChunkListener = (chunk: Buffer) => { beforeRead: () => void; answered: boolean } | void;

/** Calls `listener` with each chunk the client's connection reads, before MQTT.js's stream layers see it. */
export function onEachChunk(stream: unknown, listener: ChunkListener): void {
  if (stream instanceof BunTcpStream) return void stream.chunkListeners.unshift(listener);
  // node:net, TLS, WebSocket: the 'data' event is MQTT.js's read, so nothing is held.
  (stream as { prependListener?: (event: "data", listener: (chunk: Buffer) => void) => void }).prependListener?.("data", (chunk) => listener(chunk)?.beforeRead());
}

/** Writes one whole packet: straight to the socket on a BunTcpStream with nothing queued, else as MQTT.js writes. */
export function writePacket(stream: unknown, bytes: Uint8Array): void {
  if (stream instanceof BunTcpStream) stream.writeNow(bytes);
  else (stream as { write(bytes: Uint8Array): unknown }).write(bytes);
}

interface ConnectInternals {
  streamBuilder: (client: MqttClient) => unknown;
  _reconnectCount?: number;
}
interface Server {
  host: string;
  port?: number;
  protocol?: string;
}

/**
 * Makes the client build its plain-TCP (mqtt://) connections with BunTcpStream; every other
 * protocol, and a SOCKS proxy, goes to MQTT.js as before. With `servers` (--reconnect), the server
 * is picked as MQTT.js picks it: the next in turn on each (re)connect. Call before client.connect().
 */
export function useBunTcp(client: MqttClient): void {
  const internals = client as unknown as ConnectInternals;
  const build = internals.streamBuilder;
  const options = client.options as typeof client.options & { servers?: Server[]; defaultProtocol?: string; socksProxy?: string };
  internals.streamBuilder = (owner) => {
    let target: Server = { host: options.hostname ?? options.host ?? "localhost", port: options.port, protocol: options.protocol };
    const servers = options.servers;
    let index: number | undefined;
    if (servers?.length) {
      index = !internals._reconnectCount || internals._reconnectCount === servers.length ? 0 : internals._reconnectCount;
      target = { ...servers[index]!, protocol: servers[index]!.protocol ?? options.defaultProtocol };
    }
    if (target.protocol !== "mqtt" || options.socksProxy) return build(owner);
    if (index !== undefined) {
      // What MQTT.js's own builder records for this pick, so the next reconnect takes the next server.
      Object.assign(options, { host: target.host, hostname: target.host, port: target.port, protocol: target.protocol });
      internals._reconnectCount = index + 1;
    }
    return new BunTcpStream(target.host, target.port ?? 1883);
  };
}
