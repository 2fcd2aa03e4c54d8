// How a flow keeps its publishers sending (closed or open loop), and what it has delivered.
import { sendBatch, type Publisher } from "./publisher";
import { nowUs } from "./stamp";

/** Who has received what: delivered and duplicate counts, and how many of each publisher's messages are done. */
export class FlowLedger {
  received = 0;
  duplicates = 0;
  /** lastSeen[s * P + p]: the highest sequence number subscriber s has had from publisher p. */
  private readonly lastSeen: Uint32Array;

  constructor(
    private readonly publishers: Publisher[],
    subscriberCount: number,
    private readonly qos: 0 | 1 | 2,
  ) {
    this.lastSeen = new Uint32Array(subscriberCount * publishers.length);
  }

  delivered(subscriber: number, publisher: Publisher, seq: number): void {
    const at = subscriber * this.publishers.length + publisher.index;
    this.received++;
    if (seq <= this.lastSeen[at]!) this.duplicates++;
    else this.lastSeen[at] = seq;
  }

  /** Messages of `publisher` every subscriber has had (and, at QoS 1/2, the broker acknowledged). */
  completed(publisher: Publisher): number {
    let done = publisher.sent;
    for (const s of publisher.subscribers) done = Math.min(done, this.lastSeen[s * this.publishers.length + publisher.index]!);
    return this.qos > 0 ? Math.min(done, publisher.acked) : done;
  }

  /** Copies the subscribers should get of what was sent so far. */
  expected(): number {
    return this.publishers.reduce((sum, p) => sum + p.sent * p.subscribers.length, 0);
  }

  /** Copies neither received nor still on their way: what the live line shows as lost. */
  overdue(): number {
    const inFlight = this.publishers.reduce((sum, p) => sum + (p.sent - this.completed(p)) * p.subscribers.length, 0);
    return Math.max(0, this.expected() - this.received - inFlight);
  }
}

export interface Load {
  start(): void;
  stop(): void;
  /** A delivery, acknowledgement or drain made room for `publisher`. */
  room(publisher: Publisher): void;
  /** Times the generator could not write as fast as it wanted (socket back-pressure). */
  readonly stalls: number;
}

/**
 * Closed loop: top each publisher's window up whenever deliveries (or acks) make room, once per
 * socket read rather than per message, so a batch of messages leaves in one write.
 */
export function closedLoop(publishers: Publisher[], ledger: FlowLedger): Load {
  let sending = false;
  const load = {
    stalls: 0,
    start() {
      sending = true;
      for (const publisher of publishers) load.room(publisher);
    },
    stop: () => void (sending = false),
    room(publisher: Publisher) {
      if (publisher.pumpScheduled || !sending) return;
      publisher.pumpScheduled = true;
      queueMicrotask(() => topUp(publisher));
    },
  };
  const topUp = (publisher: Publisher) => {
    publisher.pumpScheduled = false;
    if (!sending) return;
    if (publisher.client.congested) {
      load.stalls++;
      return;
    }
    const room = publisher.inflight - (publisher.sent - ledger.completed(publisher));
    if (room > 0) {
      const now = nowUs();
      sendBatch(publisher, room, () => now);
    }
  };
  return load;
}

/**
 * Open loop at `rate` msg/s in total: each message is stamped with the time it was due, not when it
 * left, so a stall in the broker shows as latency instead of silently slowing the sender
 * (coordinated omission).
 */
export function openLoop(publishers: Publisher[], ledger: FlowLedger, rate: number, qos: 0 | 1 | 2): Load {
  let ticker: ReturnType<typeof setInterval> | undefined;
  const perPublisherUs = (publishers.length * 1e6) / rate;
  return {
    stalls: 0,
    start() {
      const startedUs = nowUs();
      ticker = setInterval(() => {
        const now = nowUs();
        for (const publisher of publishers) {
          // At QoS 1/2 never more unacknowledged than the broker's Receive Maximum allows (it would
          // disconnect us with 0x93): a message held back keeps the time it was due, so the wait
          // counts as latency.
          const room = qos > 0 ? publisher.inflight - (publisher.sent - ledger.completed(publisher)) : Infinity;
          const due = Math.min(10_000, room, Math.floor((now - startedUs) / perPublisherUs) + 1 - publisher.sent);
          if (due <= 0) continue;
          const first = publisher.sent;
          sendBatch(publisher, due, (k) => startedUs + (first + k) * perPublisherUs);
        }
      }, 1);
    },
    stop: () => clearInterval(ticker),
    room() {},
  };
}
