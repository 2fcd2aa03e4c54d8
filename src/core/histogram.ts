/**
 * A log-linear latency histogram with microsecond resolution, in the spirit of HdrHistogram:
 * exact below 1024 µs, then 512 sub-buckets per power of two (under 0.2 % relative error).
 * Fixed memory, O(1) record, so a bench can feed it millions of samples.
 */
const SUB_BUCKET_BITS = 9;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 512
const LINEAR_LIMIT = SUB_BUCKETS * 2; // values below this are stored exactly
const MAX_EXPONENT = 40; // up to ~2^50 µs, far beyond any RTT

export class LatencyHistogram {
  private readonly counts = new Float64Array(LINEAR_LIMIT + MAX_EXPONENT * SUB_BUCKETS);
  count = 0;
  minUs = Infinity;
  maxUs = 0;

  recordUs(valueUs: number): void {
    const v = Math.max(0, Math.round(valueUs));
    this.counts[bucketIndex(v)]!++;
    this.count++;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** Value at quantile q (0..1), in µs: the lowest value of its bucket, clamped to the recorded range. */
  percentileUs(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    if (rank >= this.count) return this.maxUs;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(Math.max(bucketLowerBound(i), this.minUs), this.maxUs);
    }
    return this.maxUs;
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }
}

function bucketIndex(v: number): number {
  if (v < LINEAR_LIMIT) return v;
  const exponent = Math.floor(Math.log2(v)) - SUB_BUCKET_BITS; // >= 1
  const sub = Math.floor(v / 2 ** exponent) - SUB_BUCKETS; // 512..1023 -> 0..511
  return LINEAR_LIMIT + (Math.min(exponent, MAX_EXPONENT) - 1) * SUB_BUCKETS + sub;
}

function bucketLowerBound(index: number): number {
  if (index < LINEAR_LIMIT) return index;
  const offset = index - LINEAR_LIMIT;
  const exponent = Math.floor(offset / SUB_BUCKETS) + 1;
  const sub = (offset % SUB_BUCKETS) + SUB_BUCKETS;
  return sub * 2 ** exponent;
}
