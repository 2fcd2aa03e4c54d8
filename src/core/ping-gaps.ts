/**
 * The gaps in a ping run that fails over (--reconnect): how long it was without a broker, and what
 * became of the probes of each gap. A gap's probes run from the first one not answered when the
 * connection dropped to the last one before echoes came back; each ends lost (no echo within the
 * timeout) or recovered (answered late: a QoS 1/2 probe sent again on the new connection, say).
 */

export interface Gap {
  /** The gap's first and last probe; lastSeq = firstSeq − 1 when no probe fell into it. */
  firstSeq: number;
  lastSeq: number;
  lost: number;
  recovered: number;
}

export interface GapListener {
  /** The first echo of a probe sent after the loss: the gap's probes are now known. */
  back?(seq: number): void;
  /** Every probe of the gap is lost or recovered. */
  settled?(gap: Gap): void;
}

/** An open gap: lastSeq is unknown until echoes are back. */
interface OpenGap extends Gap {
  /** The last probe sent when the connection dropped: an echo of a later one means echoes are back. */
  lastSentAtLoss: number;
  echoesBack: boolean;
}

export class PingGaps {
  reconnects = 0;
  downMs = 0;
  /** Probes sent while there was no connection. */
  probesSentDisconnected = 0;
  private lastSentSeq = 0;
  /** The highest probe answered or lost: the next gap starts after it. */
  private highestAccountedSeq = 0;
  /** The last probe sent when the connection last dropped. */
  lastSentAtLoss = 0;
  /** Gaps whose probes are not all lost or recovered yet (usually none, rarely more than one). */
  private readonly unsettled: OpenGap[] = [];
  private readonly settledGaps: Gap[] = [];

  constructor(private readonly listener: GapListener = {}) {}

  sent(seq: number): void {
    this.lastSentSeq = seq;
  }

  /** The connection dropped; a drop before echoes came back from the previous one extends that gap. */
  disconnected(): void {
    this.lastSentAtLoss = this.lastSentSeq;
    const open = this.unsettled.find((gap) => !gap.echoesBack);
    if (open) open.lastSentAtLoss = this.lastSentSeq;
    else this.unsettled.push({ firstSeq: this.highestAccountedSeq + 1, lastSeq: Infinity, lost: 0, recovered: 0, lastSentAtLoss: this.lastSentSeq, echoesBack: false });
  }

  /** The connection is back after `downMs`; returns how many probes went out meanwhile. */
  reconnected(downMs: number): number {
    const sentMeanwhile = this.lastSentSeq - this.lastSentAtLoss;
    this.reconnects++;
    this.downMs += downMs;
    this.probesSentDisconnected += sentMeanwhile;
    return sentMeanwhile;
  }

  /** The first echo of probe `seq`. */
  answered(seq: number): void {
    if (seq > this.highestAccountedSeq) this.highestAccountedSeq = seq;
    if (this.unsettled.length === 0) return;
    for (const gap of [...this.unsettled]) {
      if (!gap.echoesBack && seq > gap.lastSentAtLoss) {
        gap.echoesBack = true;
        gap.lastSeq = seq - 1;
        this.listener.back?.(seq);
      } else if (seq >= gap.firstSeq && seq <= gap.lastSeq) gap.recovered++;
      this.settleIfDone(gap);
    }
  }

  /** Probe `seq` got no echo within the timeout. */
  lost(seq: number): void {
    if (seq > this.highestAccountedSeq) this.highestAccountedSeq = seq;
    if (this.unsettled.length === 0) return;
    for (const gap of [...this.unsettled]) {
      if (seq >= gap.firstSeq && seq <= gap.lastSeq) gap.lost++;
      this.settleIfDone(gap);
    }
  }

  /**
   * Every gap so far, at the end of the run: probes of a gap still unsettled (the run stopped first)
   * count as lost, as the summary counts them; a gap with no echo back yet ends at the last probe sent.
   */
  gaps(): Gap[] {
    const open = this.unsettled.map((gap) => {
      const lastSeq = Math.min(gap.lastSeq, this.lastSentSeq);
      return { firstSeq: gap.firstSeq, lastSeq, lost: Math.max(0, lastSeq - gap.firstSeq + 1 - gap.recovered), recovered: gap.recovered };
    });
    return [...this.settledGaps, ...open];
  }

  private settleIfDone(gap: OpenGap): void {
    if (!gap.echoesBack || gap.lost + gap.recovered < gap.lastSeq - gap.firstSeq + 1) return;
    this.unsettled.splice(this.unsettled.indexOf(gap), 1);
    const settled: Gap = { firstSeq: gap.firstSeq, lastSeq: gap.lastSeq, lost: gap.lost, recovered: gap.recovered };
    this.settledGaps.push(settled);
    this.listener.settled?.(settled);
  }
}

/** The totals over all gaps, for the summary. */
export function gapTotals(gaps: Gap[]): { lost: number; recovered: number } {
  let lost = 0;
  let recovered = 0;
  for (const gap of gaps) {
    lost += gap.lost;
    recovered += gap.recovered;
  }
  return { lost, recovered };
}

/** The line ping prints once a gap is settled. */
export function formatGap(gap: Gap): string {
  const size = gap.lastSeq - gap.firstSeq + 1;
  if (size === 0) return "No probe fell into the gap.";
  const range = size === 1 ? `seq=${gap.firstSeq}` : `seq=${gap.firstSeq}..${gap.lastSeq}`;
  return `The gap's ${size} probe${size === 1 ? "" : "s"} (${range}): ${gap.lost} lost, ${gap.recovered} recovered (answered late).`;
}
