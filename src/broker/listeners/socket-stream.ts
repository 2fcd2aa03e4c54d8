import { EventEmitter } from "node:events";
import type { Socket } from "bun";
import { READ_HIGH_WATER_MARK } from "./read-limit";

/** Bun's TCP sockets have pause() and resume() (stop and start reading), which bun-types does not declare yet. */
type PausableSocket = Socket<SocketStream | undefined> & { pause(): boolean; resume(): boolean };

// Streams written to in this turn: one microtask flushes them all, instead of a flush closure and
// a microtask per stream (a bound function per connection was memory held by every idle one).
const toFlush: SocketStream[] = [];
let flushQueued = false;

function scheduleFlush(stream: SocketStream): void {
  toFlush.push(stream);
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushAll);
  }
}

function flushAll(): void {
  // A flush can call write callbacks that write again: those streams join the end of this list.
  try {
    for (let i = 0; i < toFlush.length; i++) toFlush[i]!.flush();
  } finally {
    toFlush.length = 0;
    flushQueued = false;
  }
}

/**
 * One of Bun's native sockets (Bun.listen) dressed as the small part of a Node stream that aedes
 * uses: 'readable' + read(), write() with false + 'drain' for backpressure, destroy(), end(),
 * and 'end'/'error'/'close'. A node:net socket under Bun costs more memory and a syscall per
 * write; this one costs an EventEmitter, and every write made in one turn of the event loop
 * (aedes writes a packet in several pieces) leaves in one send(2).
 */
export class SocketStream extends EventEmitter {
  destroyed = false;
  /** Bytes in and out, for the metrics (as on a node:net socket). */
  bytesRead = 0;
  bytesWritten = 0;
  /** Received chunks aedes has not read yet. */
  private inbound: Buffer[] = [];
  private inboundBytes = 0;
  private readPaused = false;
  private needReadable = true;
  /** Written pieces waiting for the flush at the end of this turn, or for the socket to drain. */
  private outbound: Uint8Array[] = [];
  private outboundBytes = 0;
  /** Write callbacks, called once their bytes are in the kernel: that is what tells aedes (and
   * --max-queued) a slow subscriber is backing up, instead of the broker buffering without bound. */
  private writeCallbacks: Array<() => void> = [];
  private flushScheduled = false;
  private blocked = false;
  private ending = false;
  private flowing = false;

  constructor(readonly socket: Socket<SocketStream | undefined>) {
    super();
  }

  // ---- called by the listener's socket handlers ----

  onData(chunk: Buffer): void {
    if (this.destroyed) return;
    this.bytesRead += chunk.length;
    if (this.flowing) return; // resumed after DISCONNECT: read and dropped
    this.inbound.push(chunk);
    this.inboundBytes += chunk.length;
    if (this.inboundBytes >= READ_HIGH_WATER_MARK && !this.readPaused) {
      this.readPaused = true;
      (this.socket as PausableSocket).pause();
    }
    if (this.needReadable) {
      this.needReadable = false;
      this.emit("readable");
    }
  }

  onDrain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    this.flush();
    if (!this.blocked) {
      if (this.ending) this.finishEnd();
      else this.emit("drain");
    }
  }

  onEnd(): void {
    this.emit("end");
  }

  onClose(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.callWriteCallbacks());
    if (error) this.emit("error", error);
    this.emit("close");
  }

  // ---- the stream surface aedes uses ----

  /** Everything received so far, or null (and 'readable' again when more comes). */
  read(): Buffer | null {
    const inbound = this.inbound;
    if (inbound.length === 0) {
      this.needReadable = true;
      return null;
    }
    this.needReadable = true;
    const data = inbound.length === 1 ? inbound[0]! : Buffer.concat(inbound);
    inbound.length = 0; // the same array again next time: no garbage per read
    this.resumeReading();
    return data;
  }

  /** As on a Node stream without 'data' listeners: from now on input is read and dropped. */
  resume(): this {
    this.flowing = true;
    this.inbound.length = 0;
    this.resumeReading();
    return this;
  }

  private resumeReading(): void {
    this.inboundBytes = 0;
    if (!this.readPaused) return;
    this.readPaused = false;
    (this.socket as PausableSocket).resume();
  }

  pause(): this {
    this.flowing = false;
    return this;
  }

  write(chunk: Uint8Array | string, encoding?: BufferEncoding | (() => void), callback?: () => void): boolean {
    const done = typeof encoding === "function" ? encoding : callback;
    // As Node does, refuse anything else at once: queued, it would throw later in flush(), outside
    // the writer's try/catch, and take the whole broker down (found by the fuzzer).
    if (!(chunk instanceof Uint8Array) && typeof chunk !== "string") {
      throw new TypeError(`The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${chunk === null ? "null" : typeof chunk}`);
    }
    if (this.destroyed || this.ending) {
      if (done) queueMicrotask(done);
      return false;
    }
    let bytes = typeof chunk === "string" ? Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8") : chunk;
    // Kept until the socket drains, a payload sliced from a received chunk would keep that whole
    // chunk (up to hundreds of KiB) alive: keep a copy of just its bytes.
    if (this.blocked && bytes.byteLength < bytes.buffer.byteLength) bytes = new Uint8Array(bytes);
    this.outbound.push(bytes);
    this.outboundBytes += bytes.length;
    this.bytesWritten += bytes.length;
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      scheduleFlush(this);
    }
    if (done) this.writeCallbacks.push(done);
    // Past 64 KiB not yet on the wire, ask the writer to wait for 'drain' (as a Node stream would).
    return !this.blocked || this.outboundBytes < 65536;
  }

  /** @internal Called by flushAll (below) at the end of the turn, and by onDrain and end. */
  flush(): void {
    this.flushScheduled = false;
    if (this.blocked || this.destroyed) return;
    if (this.outboundBytes === 0) return this.callWriteCallbacks();
    const data = this.outbound.length === 1 ? this.outbound[0]! : Buffer.concat(this.outbound, this.outboundBytes);
    const written = this.socket.write(data);
    if (written === data.length) {
      this.outbound.length = 0; // the same array again: no garbage per send
      this.outboundBytes = 0;
      this.callWriteCallbacks();
      return;
    }
    if (written < 0) return; // closed: onClose follows and calls the callbacks
    // The kernel's buffer is full: keep (a copy of) the rest until the socket drains, not all of data.
    const rest = new Uint8Array(data.subarray(written));
    this.outbound = [rest];
    this.outboundBytes = rest.length;
    this.blocked = true;
  }

  private callWriteCallbacks(): void {
    if (this.writeCallbacks.length === 0) return;
    const callbacks = this.writeCallbacks;
    this.writeCallbacks = [];
    for (const callback of callbacks) callback();
  }

  /** Bytes written and not yet taken by the kernel (as on a Node stream): --max-queued-bytes and the metrics read it. */
  get writableLength(): number {
    return this.outboundBytes;
  }

  /** end() was called: nothing more will be written. */
  get writableEnded(): boolean {
    return this.ending;
  }

  /** Sends what is written so far, then closes our side. */
  end(chunk?: Uint8Array): this {
    if (chunk) this.write(chunk);
    if (this.destroyed || this.ending) return this;
    this.ending = true;
    this.flush();
    if (!this.blocked) this.finishEnd();
    return this;
  }

  private finishEnd(): void {
    this.socket.end();
  }

  /**
   * Closes now. What is already written still goes out first (a CONNACK refusal, a DISCONNECT
   * with a reason code), unlike Node, where destroy() may drop it.
   */
  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.flush();
    this.destroyed = true;
    if (this.blocked) this.socket.terminate();
    else this.socket.end();
    queueMicrotask(() => this.callWriteCallbacks());
    // As Node does: 'error' and 'close' on the next tick, not inside the caller's stack.
    process.nextTick(() => {
      if (error) this.emit("error", error);
      this.emit("close");
    });
    return this;
  }

  setNoDelay(): this {
    return this; // the listener sets TCP_NODELAY on every socket
  }
}
