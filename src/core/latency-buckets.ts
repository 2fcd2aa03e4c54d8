/**
 * Smokeping-style summaries of round-trip samples: per time bucket the minimum, median and maximum
 * of the answered probes and how many were lost. No I/O here.
 */
export interface RoundTripSample {
  /** When the probe was sent (epoch ms). */
  at: number;
  /** null: no answer within the probe's timeout. */
  rttMs: number | null;
}

export interface LatencyBucket {
  /** Start of the bucket (epoch ms). */
  at: number;
  /** Answered probes; min, p50 and max are null when there is none. */
  count: number;
  lost: number;
  minMs: number | null;
  p50Ms: number | null;
  maxMs: number | null;
}

/** Groups samples (oldest first) into buckets of `bucketMs`, aligned on multiples of it; empty buckets are left out. */
export function latencyBuckets(samples: readonly RoundTripSample[], bucketMs: number): LatencyBucket[] {
  const buckets: LatencyBucket[] = [];
  let start = NaN;
  let rtts: number[] = [];
  let lost = 0;
  const flush = () => {
    if (Number.isNaN(start)) return;
    rtts.sort((a, b) => a - b);
    const answered = rtts.length > 0;
    buckets.push({ at: start, count: rtts.length, lost, minMs: answered ? rtts[0]! : null, p50Ms: answered ? middleOfSorted(rtts) : null, maxMs: answered ? rtts[rtts.length - 1]! : null });
  };
  for (const sample of samples) {
    const bucketStart = Math.floor(sample.at / bucketMs) * bucketMs;
    if (bucketStart !== start) {
      flush();
      start = bucketStart;
      rtts = [];
      lost = 0;
    }
    if (sample.rttMs === null) lost++;
    else rtts.push(sample.rttMs);
  }
  flush();
  return buckets;
}

/** The median of sorted values: the middle one, or the mean of the middle two. */
function middleOfSorted(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
