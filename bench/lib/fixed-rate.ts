import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';

export interface FixedRateResult {
  sent: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Open-loop load at a fixed rate: requests go out on schedule whether or not
 * earlier ones have returned (no coordinated omission), latency is measured
 * from the scheduled send time and recorded in microseconds in an HDR
 * histogram. Bounded by count (rate × seconds) and by a per-request timeout.
 */
export async function fixedRate(
  url: string,
  ratePerSecond: number,
  seconds: number,
  path: (i: number) => string,
): Promise<FixedRateResult> {
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const pool = new Pool(url, { connections: 64, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const total = Math.round(ratePerSecond * seconds);
  const intervalMs = 1000 / ratePerSecond;
  const start = performance.now();
  let sent = 0;
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const sendOne = async (i: number, scheduledAt: number) => {
    try {
      const res = await pool.request({ path: path(i), method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
    } catch {
      errors++;
    }
    histogram.recordValue(Math.max(1, Math.round((performance.now() - scheduledAt) * 1000)));
  };
  while (sent < total) {
    const now = performance.now();
    // Send everything whose time has come, then sleep until the next slot.
    while (sent < total && start + sent * intervalMs <= now) {
      inflight.push(sendOne(sent, start + sent * intervalMs));
      sent++;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, start + sent * intervalMs - performance.now())));
  }
  await Promise.all(inflight);
  await pool.close();
  const ms = (q: number) => Math.round(histogram.getValueAtPercentile(q) / 10) / 100;
  const result = { sent, errors, p50Ms: ms(50), p99Ms: ms(99), maxMs: Math.round(histogram.maxValue / 10) / 100 };
  histogram.destroy();
  return result;
}
