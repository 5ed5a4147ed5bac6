/**
 * The seasonal forecast: the load at a moment is what it was at the same time
 * yesterday and the day before, scaled by how today's last hour compares with
 * those days' same hour. It uses whatever history the tick was given, every
 * tick, so one day of data is enough to be ready before tomorrow's peak.
 */
import type { RequestRateHistory } from './inputs.js';
import { MS_PER_DAY, MS_PER_MINUTE } from './period.js';

/** Days back the seasonal terms look (yesterday and the day before). */
export const SEASONAL_DAYS = 2;
/** Today's level is measured over the most recent hour of history. */
export const LEVEL_WINDOW_MINUTES = 60;
/** Fewer matched samples than this and the level is unknown. */
const LEVEL_MIN_SAMPLES = 3;
/** A day unlike the previous ones scales the pattern, within these bounds (beyond, reactive signals lead). */
export const LEVEL_RATIO_MIN = 0.25;
export const LEVEL_RATIO_MAX = 4;

function bucketMs(history: RequestRateHistory): number {
  return history.bucketMinutes * MS_PER_MINUTE;
}

/** The bucket covering `ms`, or undefined when outside the history or missing. */
export function rateAt(history: RequestRateHistory, ms: number): number | undefined {
  const index = Math.floor((ms - history.startMs) / bucketMs(history));
  if (index < 0 || index >= history.requestsPerSecond.length) return undefined;
  const value = history.requestsPerSecond[index];
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Mean of the same time on the previous SEASONAL_DAYS days that have data. */
export function seasonalAt(history: RequestRateHistory, ms: number): number | undefined {
  let sum = 0;
  let n = 0;
  for (let day = 1; day <= SEASONAL_DAYS; day++) {
    const value = rateAt(history, ms - day * MS_PER_DAY);
    if (value !== undefined) {
      sum += value;
      n++;
    }
  }
  return n > 0 ? sum / n : undefined;
}

/** End of the newest bucket in the history. */
export function historyEndMs(history: RequestRateHistory): number {
  return history.startMs + history.requestsPerSecond.length * bucketMs(history);
}

/**
 * Today's level against the seasonal reference over the last hour of data
 * both have; undefined when there is no reference (less than a day of data).
 */
export function levelRatio(history: RequestRateHistory, nowMs: number): number | undefined {
  const step = bucketMs(history);
  const end = Math.min(historyEndMs(history), nowMs);
  let recent = 0;
  let reference = 0;
  let n = 0;
  for (let ms = end - step; ms >= end - LEVEL_WINDOW_MINUTES * MS_PER_MINUTE; ms -= step) {
    const now = rateAt(history, ms);
    const then = seasonalAt(history, ms);
    if (now === undefined || then === undefined) continue;
    recent += now;
    reference += then;
    n++;
  }
  if (n < LEVEL_MIN_SAMPLES) return undefined;
  if (reference <= 0) return recent > 0 ? LEVEL_RATIO_MAX : 1;
  return Math.min(LEVEL_RATIO_MAX, Math.max(LEVEL_RATIO_MIN, recent / reference));
}

/**
 * The highest load expected in [fromMs, toMs]: the window a decision made now
 * must cover, from when its tasks could start serving until the next tick's
 * tasks could. Undefined without a day of history.
 */
export function forecastPeakRps(
  history: RequestRateHistory,
  nowMs: number,
  fromMs: number,
  toMs: number,
): number | undefined {
  const ratio = levelRatio(history, nowMs);
  if (ratio === undefined) return undefined;
  const step = bucketMs(history);
  let peak: number | undefined;
  for (let ms = fromMs; ms <= toMs; ms += step) {
    const value = seasonalAt(history, ms);
    if (value !== undefined && (peak === undefined || value > peak)) peak = value;
  }
  return peak === undefined ? undefined : peak * ratio;
}

/**
 * Mean requests per second in each `planBucketMs` slice of the UTC day over
 * the last SEASONAL_DAYS days of history, NaN where there was none. The
 * budget plans the rest of its period on this profile.
 */
export function dailyProfile(history: RequestRateHistory, nowMs: number, planBucketMs: number): Float64Array {
  const slices = Math.ceil(MS_PER_DAY / planBucketMs);
  const sum = new Float64Array(slices);
  const count = new Float64Array(slices);
  const step = bucketMs(history);
  const since = nowMs - SEASONAL_DAYS * MS_PER_DAY;
  const rates = history.requestsPerSecond;
  const first = Math.max(0, Math.floor((since - history.startMs) / step));
  // Walk the buckets with a time-of-day counter: no modulo of epoch milliseconds per sample.
  let timeOfDay = (((history.startMs + first * step) % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
  for (let i = first; i < rates.length; i++, timeOfDay += step) {
    if (timeOfDay >= MS_PER_DAY) timeOfDay -= MS_PER_DAY;
    const value = rates[i];
    if (value === undefined || !(value >= 0) || value === Number.POSITIVE_INFINITY) continue;
    const slice = Math.floor(timeOfDay / planBucketMs);
    sum[slice] = (sum[slice] ?? 0) + value;
    count[slice] = (count[slice] ?? 0) + 1;
  }
  const profile = new Float64Array(slices);
  for (let s = 0; s < slices; s++) {
    const n = count[s] ?? 0;
    profile[s] = n > 0 ? (sum[s] ?? 0) / n : Number.NaN;
  }
  return profile;
}
