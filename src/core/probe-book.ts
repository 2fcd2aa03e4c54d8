// The pinger's ledger: each probe's unique timestamp, which echoes answer which probe, and what is
// lost. Pure: the caller passes the clock readings in.
import { formatTimestamp } from "./payload";
import { RttStats } from "./rtt-stats";

export interface Probe {
  seq: number;
  /** The timestamp text that leads the payload; it identifies the probe. */
  timestamp: string;
  sentAtMs: number;
  answered: boolean;
}

export type EchoOutcome =
  | { kind: "echo"; probe: Probe; rttMs: number; outOfOrder: boolean }
  | { kind: "duplicate"; probe: Probe }
  /** Another pinger's echo, or one that came after its probe's timeout. */
  | { kind: "unknown" };

const UNKNOWN: EchoOutcome = { kind: "unknown" };

export class ProbeBook {
  readonly rtt = new RttStats();
  transmitted = 0;
  duplicates = 0;
  outOfOrder = 0;
  lost = 0;
  /** Probes waiting for an echo, or answered but kept until their timeout so duplicates are seen; in send order. */
  private readonly pending = new Map<string, Probe>();
  /** The pending probes not answered yet, in send order: the oldest is the next loss deadline, found without a scan. */
  private readonly unanswered = new Map<string, Probe>();
  private highestAnsweredSeq = 0;
  private lastTimestamp = "";

  /** `decimals`: digits after the second in each timestamp (finer for shorter intervals). */
  constructor(private readonly decimals: number) {}

  /** A new probe stamped with `epochMs`, unique even when the clock has not moved on since the last. */
  open(epochMs: number): Probe {
    let timestamp = formatTimestamp(epochMs, this.decimals);
    if (timestamp <= this.lastTimestamp || this.pending.has(timestamp)) timestamp = formatTimestamp(epochMs, 6);
    if (timestamp <= this.lastTimestamp || this.pending.has(timestamp)) timestamp = `${this.lastTimestamp}1`;
    this.lastTimestamp = timestamp;
    const probe: Probe = { seq: ++this.transmitted, timestamp, sentAtMs: 0, answered: false };
    this.pending.set(timestamp, probe);
    this.unanswered.set(timestamp, probe);
    return probe;
  }

  /** An echo whose payload starts with `timestamp` arrived at `nowMs`. */
  answer(timestamp: string, nowMs: number): EchoOutcome {
    const probe = this.pending.get(timestamp);
    if (!probe) return UNKNOWN;
    if (probe.answered) {
      this.duplicates++;
      return { kind: "duplicate", probe };
    }
    const rttMs = nowMs - probe.sentAtMs;
    probe.answered = true;
    this.unanswered.delete(timestamp);
    const outOfOrder = probe.seq < this.highestAnsweredSeq;
    if (outOfOrder) this.outOfOrder++;
    else this.highestAnsweredSeq = probe.seq;
    this.rtt.record(rttMs);
    return { kind: "echo", probe, rttMs, outOfOrder };
  }

  /** Forgets probes sent `timeoutMs` or more before `nowMs`; each unanswered one is lost (and passed to `onLost`). */
  expire(nowMs: number, timeoutMs: number, onLost: (probe: Probe) => void): void {
    for (const [key, probe] of this.pending) {
      if (nowMs - probe.sentAtMs < timeoutMs) break;
      this.pending.delete(key);
      if (!probe.answered) {
        this.unanswered.delete(key);
        this.lost++;
        onLost(probe);
      }
    }
  }

  /** When the oldest probe still waiting for its echo was sent (undefined: none waits). */
  oldestUnansweredSentAtMs(): number | undefined {
    for (const probe of this.unanswered.values()) return probe.sentAtMs;
    return undefined;
  }

  get received(): number {
    return this.rtt.count;
  }

  /** Whether each of the first `count` probes is answered or lost. */
  allAccounted(count: number): boolean {
    return this.transmitted >= count && this.received + this.lost >= count;
  }
}
