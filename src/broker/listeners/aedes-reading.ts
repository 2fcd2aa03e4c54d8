// What a connection stream needs to know of how aedes reads it.
import type { Readable } from "node:stream";

/**
 * Past this much input aedes has not read yet, a listener stops reading the connection: the sender
 * then sees TCP back-pressure instead of the broker buffering its data (a broker waiting on a stuck
 * subscriber took in 20-50 MB from one fast TCP publisher, 188 MiB in half a second over ws://).
 */
export const READ_HIGH_WATER_MARK = 256 * 1024;

/**
 * Whether aedes still has packets in hand that it read from this connection (a QoS 1 PUBLISH held back
 * for a stuck subscriber, say). It reads again by itself when the last is done; a 'readable' now would
 * make it read on, because it counts each 'readable' as a packet done (its _parsingBatch). Only ask
 * once aedes has read: the count starts at 1, for the first read.
 */
export function aedesHandlingPackets(stream: object): boolean {
  return ((stream as { client?: { _parsingBatch?: number } }).client?._parsingBatch ?? 0) > 0;
}

/**
 * Makes a Node stream (a node:tls socket) hold 'readable' back while aedes has packets in hand, so its
 * buffer fills and its own back-pressure stops reading the socket. A Node stream emits 'readable' for
 * every chunk while under its high-water mark: with one packet per chunk (a publisher pacing its
 * messages), aedes read on past a QoS 1 PUBLISH it was holding back, without end.
 */
export function holdReadableWhileHandling(stream: Readable): void {
  let readOnce = false;
  const read = stream.read;
  const emit = stream.emit;
  stream.read = function (this: Readable, size?: number) {
    if (size !== 0) readOnce = true; // read(0) is Node's own "fill the buffer"
    return read.call(this, size);
  };
  stream.emit = function (this: Readable, event: string | symbol, ...args: unknown[]) {
    if (event === "readable" && readOnce && aedesHandlingPackets(this)) return false;
    return emit.call(this, event, ...args);
  } as Readable["emit"];
}
