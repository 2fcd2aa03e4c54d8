import { LatencyHistogram } from "./histogram";

/** Round-trip statistics as ping(8) prints them (min/avg/max/mdev) plus percentiles. */
export class RttStats {
  readonly histogram = new LatencyHistogram();
  private sumMs = 0;
  private sumSquaresMs = 0;
  count = 0;
  minMs = Infinity;
  maxMs = 0;

  record(rttMs: number): void {
    this.count++;
    this.sumMs += rttMs;
    this.sumSquaresMs += rttMs * rttMs;
    if (rttMs < this.minMs) this.minMs = rttMs;
    if (rttMs > this.maxMs) this.maxMs = rttMs;
    this.histogram.recordUs(rttMs * 1000);
  }

  get avgMs(): number {
    return this.count ? this.sumMs / this.count : NaN;
  }

  /** Standard deviation, as ping(8)'s mdev: sqrt(E[x²] − E[x]²). */
  get mdevMs(): number {
    if (!this.count) return NaN;
    const mean = this.avgMs;
    return Math.sqrt(Math.max(0, this.sumSquaresMs / this.count - mean * mean));
  }

  percentileMs(q: number): number {
    return this.histogram.percentileUs(q) / 1000;
  }
}

export function lossPercent(transmitted: number, received: number): number {
  if (transmitted === 0) return 0;
  return (Math.max(0, transmitted - received) / transmitted) * 100;
}
