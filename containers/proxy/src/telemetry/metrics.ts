import { LatencyHistogram } from './latency-histogram.js';

/** Index of a status class (1xx..5xx) in a class-count array; 0 counts replies that never got a status. */
export const statusClassIndex = (status: number): number => (status >= 100 && status < 600 ? (status / 100) | 0 : 0);

/** Typed-array increment; indices here are always in range. */
export function increment(counts: Float64Array, index: number): void {
  counts[index] = (counts[index] as number) + 1;
}

/**
 * Proxy-wide counters, updated on the hot path with plain increments. They
 * are read only through the state snapshot (telemetry/snapshot.ts).
 */
export class ProxyMetrics {
  requests = 0;
  clientAborts = 0;
  retries = 0;
  noHealthyServer = 0;
  bodyTooLarge = 0;
  readonly statusClassCounts = new Float64Array(6);
  readonly latency = new LatencyHistogram();

  /** Records a finished request (status 0 when the client left before a reply). */
  observe(status: number, latencyMs: number): void {
    this.requests++;
    increment(this.statusClassCounts, statusClassIndex(status));
    this.latency.observe(latencyMs);
  }
}
