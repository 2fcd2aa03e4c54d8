/** The overview's rates, worked out from readings of the broker's running counters. No I/O here. */
import { RingBuffer } from "./ring-buffer";

/** The running totals the broker keeps anyway (src/broker/metrics.ts). */
export interface TrafficCounters {
  messagesReceived: number;
  messagesSent: number;
  bytesReceived: number;
  bytesSent: number;
}

/** Per second, between two readings. */
export interface RatePoint {
  at: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

export class RateHistory {
  private readonly points: RingBuffer<RatePoint>;
  private last: { at: number; counters: TrafficCounters } | undefined;

  constructor(capacity: number) {
    this.points = new RingBuffer<RatePoint>(capacity);
  }

  /** A reading at `at` (epoch ms): from the second reading on, each adds the rates since the one before. */
  record(at: number, counters: TrafficCounters): RatePoint | undefined {
    const last = this.last;
    this.last = { at, counters: { ...counters } };
    if (!last || at <= last.at) return undefined;
    const seconds = (at - last.at) / 1000;
    // A counter never goes back; if one seems to (a clock step, a reset), the rate is 0, not negative.
    const per = (now: number, before: number) => Math.max(0, (now - before) / seconds);
    const point = {
      at,
      messagesIn: per(counters.messagesReceived, last.counters.messagesReceived),
      messagesOut: per(counters.messagesSent, last.counters.messagesSent),
      bytesIn: per(counters.bytesReceived, last.counters.bytesReceived),
      bytesOut: per(counters.bytesSent, last.counters.bytesSent),
    };
    this.points.push(point);
    return point;
  }

  /** Oldest first. */
  all(): RatePoint[] {
    return this.points.toArray();
  }

  get capacity(): number {
    return this.points.capacity;
  }
}
