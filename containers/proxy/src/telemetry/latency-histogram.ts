/**
 * Request latency in geometric buckets: each bucket's upper bound is 2^(1/4)
 * times the last (about ±9% precision) from 1/16 ms to about 65 s, plus an
 * overflow bucket. Recording is one log2 and one typed-array increment, so
 * the hot path can afford one per request and one per backend; percentiles,
 * Prometheus buckets and CloudWatch values/counts are all read from it.
 */
const MIN_BOUND_MS = 1 / 16;
const STEPS_PER_DOUBLING = 4;
const DOUBLINGS = 20;
const BUCKETS = DOUBLINGS * STEPS_PER_DOUBLING + 1;

/** Upper bound of bucket i, in ms. */
export function bucketBoundMs(i: number): number {
  return MIN_BOUND_MS * 2 ** (i / STEPS_PER_DOUBLING);
}

export interface HistogramSnapshot {
  /** Upper bound of each bucket in ms; the last bucket is open-ended (Infinity). */
  readonly boundsMs: readonly number[];
  readonly counts: readonly number[];
  readonly count: number;
  readonly sumMs: number;
}

const BOUNDS_MS: readonly number[] = Object.freeze([
  ...Array.from({ length: BUCKETS }, (_, i) => bucketBoundMs(i)),
  Number.POSITIVE_INFINITY,
]);

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS + 1);
  private count = 0;
  private sumMs = 0;

  observe(ms: number): void {
    const i = ms <= MIN_BOUND_MS ? 0 : Math.min(BUCKETS, Math.ceil(Math.log2(ms / MIN_BOUND_MS) * STEPS_PER_DOUBLING));
    this.counts[i] = (this.counts[i] as number) + 1;
    this.count++;
    this.sumMs += ms;
  }

  snapshot(): HistogramSnapshot {
    return { boundsMs: BOUNDS_MS, counts: Array.from(this.counts), count: this.count, sumMs: this.sumMs };
  }
}

/**
 * Quantile q (0..1) of a snapshot in ms, interpolated geometrically inside its
 * bucket; null when nothing was recorded.
 */
export function quantileMs(h: HistogramSnapshot, q: number): number | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] as number;
    if (c === 0 || seen + c < rank) {
      seen += c;
      continue;
    }
    const upper = h.boundsMs[i] as number;
    if (i === 0) return upper;
    const lower = h.boundsMs[i - 1] as number;
    if (!Number.isFinite(upper)) return lower;
    const fraction = Math.min(1, Math.max(0, (rank - seen) / c));
    return lower * (upper / lower) ** fraction;
  }
  return h.boundsMs[h.boundsMs.length - 2] as number;
}

/** Counts since `before` (same bucket layout), for per-period publishing. */
export function histogramDelta(now: HistogramSnapshot, before: HistogramSnapshot | undefined): HistogramSnapshot {
  if (before === undefined) return now;
  return {
    boundsMs: now.boundsMs,
    counts: now.counts.map((c, i) => c - (before.counts[i] ?? 0)),
    count: now.count - before.count,
    sumMs: now.sumMs - before.sumMs,
  };
}
