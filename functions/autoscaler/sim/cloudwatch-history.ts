/**
 * The request history as the Lambda would read it from CloudWatch: the
 * replay's readable minutes summed into the adapter's buckets (CloudWatch's
 * Sum per period), then windowed and turned into requests per second by the
 * adapter's own code (adapters/cloudwatch-load.ts: historyWindow,
 * historyFromSums), so the simulated policy sees the buckets, the window and
 * the gaps the deployed one does.
 */
import { HISTORY_BUCKET_MINUTES, historyFromSums, historyWindow } from '../adapters/cloudwatch-load.js';
import type { RequestRateHistory } from '../inputs.js';
import { MS_PER_MINUTE } from '../period.js';

/** What the replay shows a tick: every readable minute's request rate, oldest first. */
export interface ObservedMinutes {
  readonly nowMs: number;
  /** Request rate of each readable minute; index 0 is the minute starting at `firstMinuteMs`. */
  readonly rps: ArrayLike<number>;
  readonly firstMinuteMs: number;
}

/**
 * Folds minutes into bucket sums as they become readable (each minute once),
 * so a tick costs the window's length, not the replay's.
 */
export class SimulatedCloudWatchHistory {
  private readonly bucketMs = HISTORY_BUCKET_MINUTES * MS_PER_MINUTE;
  private starts = new Float64Array(1024);
  private sums = new Float64Array(1024);
  private buckets = 0;
  private folded = 0;

  read(observed: ObservedMinutes): RequestRateHistory {
    for (; this.folded < observed.rps.length; this.folded++) {
      const minuteMs = observed.firstMinuteMs + this.folded * MS_PER_MINUTE;
      const start = Math.floor(minuteMs / this.bucketMs) * this.bucketMs;
      if (this.buckets === 0 || this.starts[this.buckets - 1] !== start) this.push(start);
      const i = this.buckets - 1;
      // CloudWatch's Sum: requests in the bucket (a minute's rate x 60 s).
      this.sums[i] = (this.sums[i] ?? 0) + (observed.rps[this.folded] ?? 0) * 60;
    }
    const window = historyWindow(observed.nowMs);
    // Between two new buckets the window and its whole buckets are the same: hand out the same
    // history, so the policy's forecast fits once per bucket (forecast.ts keeps fits by history).
    if (this.last && this.lastStartMs === window.startMs && this.lastEndBucket === this.wholeBuckets(window.endMs)) {
      return this.last;
    }
    // The adapter keeps the buckets inside the window; pass only those that can be, without copying.
    let from = this.buckets;
    while (from > 0 && (this.starts[from - 1] ?? 0) >= window.startMs) from--;
    this.last = historyFromSums(
      this.starts.subarray(from, this.buckets),
      this.sums.subarray(from, this.buckets),
      window,
    );
    this.lastStartMs = window.startMs;
    this.lastEndBucket = this.wholeBuckets(window.endMs);
    return this.last;
  }

  private last: RequestRateHistory | undefined;
  private lastStartMs = Number.NaN;
  private lastEndBucket = Number.NaN;

  /** Whole buckets before `endMs`: a new one is the only other thing that changes the history. */
  private wholeBuckets(endMs: number): number {
    return Math.floor(endMs / this.bucketMs);
  }

  private push(start: number): void {
    if (this.buckets === this.starts.length) {
      const starts = new Float64Array(this.buckets * 2);
      starts.set(this.starts);
      this.starts = starts;
      const sums = new Float64Array(this.buckets * 2);
      sums.set(this.sums);
      this.sums = sums;
    }
    this.starts[this.buckets] = start;
    this.sums[this.buckets] = 0;
    this.buckets++;
  }
}
