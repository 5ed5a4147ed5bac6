import { describe, expect, it } from 'vitest';
import { HISTORY_BUCKET_MINUTES, historyWindow } from '#functions/autoscaler/adapters/cloudwatch-load.js';
import { SimulatedCloudWatchHistory } from '#functions/autoscaler/sim/cloudwatch-history.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5);

describe("the simulator's history goes through the CloudWatch adapter's bucketing", () => {
  it('sums readable minutes into the adapter window, complete buckets only, gaps as NaN', () => {
    const history = new SimulatedCloudWatchHistory();
    // Minutes 0..11 readable at a tick at minute 13 (the newest complete minute is 11).
    const rps = Float64Array.from({ length: 12 }, (_, m) => m);
    const nowMs = T0 + 13 * MINUTE;
    const read = history.read({ nowMs, rps, firstMinuteMs: T0 });
    const window = historyWindow(nowMs);
    expect(read.bucketMinutes).toBe(HISTORY_BUCKET_MINUTES);
    expect(read.startMs).toBe(window.startMs);
    const values = Array.from(read.requestsPerSecond);
    // Buckets before the trace are gaps; the last two whole buckets hold minutes 0-4 and 5-9; 10-11 are partial.
    expect(values.slice(-2)).toEqual([2, 7]);
    expect(values.slice(0, -2).every(Number.isNaN)).toBe(true);
    expect(read.startMs + values.length * HISTORY_BUCKET_MINUTES * MINUTE).toBe(T0 + 10 * MINUTE);
  });

  it('folds each minute once across ticks, and older buckets leave the window', () => {
    const history = new SimulatedCloudWatchHistory();
    const minutes = 20 * 24 * 60;
    const rps = new Float64Array(minutes).fill(3);
    let last: ReturnType<SimulatedCloudWatchHistory['read']> | undefined;
    for (const readable of [100, 5_000, minutes]) {
      last = history.read({ nowMs: T0 + (readable + 1) * MINUTE, rps: rps.subarray(0, readable), firstMinuteMs: T0 });
    }
    const values = Array.from(last?.requestsPerSecond ?? []);
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((v) => v === 3)).toBe(true);
  });
});
