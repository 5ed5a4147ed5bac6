/**
 * The load forecast: a double-seasonal Holt-Winters model (Taylor, 2003),
 * multiplicative, with a daily and a weekly cycle and no trend, fitted afresh
 * on every tick to the request history the tick read (two weeks of 5-minute
 * buckets on AWS). Expected load in a bucket = level × daily index of its
 * time of day × weekly index of its time of the week.
 *
 * Fitting: the first whole days (up to a week) set the starting level and
 * daily index, robustly (medians across days, so one unusual day does not
 * become the pattern); the weekly index starts from whichever week was less
 * surprising at each time of the week (so a burst in one of two weeks does
 * not either); then the whole history is smoothed through, bucket by bucket,
 * which brings the level up to date. With less than a week of history there
 * is no weekly index (it stays 1): the model is then daily Holt-Winters.
 *
 * Robust to bursts: every update sees the observation clamped to within
 * BURST_CLAMP times the model's own prediction, so one burst moves the level
 * (and the indices of the buckets it covered) by a bounded amount, never by
 * the burst's size. A burst of any height an hour long lifts the level by
 * under 20% at its end (two hours: under 40%), and the budget's plan for the
 * rest of the period with it; the seasonal-naive forecast this replaces,
 * scaled by the last hour, took the plan to 4x. A real and
 * lasting change of level is followed at up to BURST_CLAMP per level time
 * constant; meanwhile the reactive signals (requests, CPU, p99) size the fleet.
 *
 * Pure and cheap: two weeks of 5-minute buckets is 4,032 updates per tick.
 */
import type { RequestRateHistory } from './inputs.js';
import { MS_PER_DAY, MS_PER_HOUR } from './period.js';

export const MS_PER_WEEK = 7 * MS_PER_DAY;
/** Weeks are UTC weeks from Monday 00:00 (1970-01-05 was a Monday), as budget periods are. */
export const WEEK_ANCHOR_MS = 4 * MS_PER_DAY;
/**
 * Level smoothing as a time constant, so it means the same at any bucket
 * size. Three hours: a day busier than usual shows within the morning, while
 * an hour-long burst (clamped besides) moves the level by under a fifth.
 */
export const LEVEL_TIME_CONSTANT_MS = 3 * MS_PER_HOUR;
/** Share of each day's surprise a time-of-day index takes (per visit: once a day). */
export const DAILY_SMOOTHING = 0.2;
/** Share of each week's surprise a time-of-week index takes (per visit: once a week). */
export const WEEKLY_SMOOTHING = 0.2;
/** No update sees an observation further than this factor from the model's prediction. */
export const BURST_CLAMP = 1.5;
/** A day (a run of one day's buckets) with less than this share of its buckets is not used to start the model. */
const MIN_DAY_COVERAGE = 0.5;
/** The level never starts below this (requests per second): a multiplicative model cannot grow from zero. */
const MIN_LEVEL_RPS = 0.01;

export interface SeasonalForecast {
  /** Whether a whole week of history gave the model its weekly index. */
  readonly weekly: boolean;
  /** The deseasonalised level at the end of the history, in requests per second. */
  readonly level: number;
  /** Expected requests per second in the bucket that contains `ms` (after the history's end). */
  at(ms: number): number;
  /** The highest bucket expected in [fromMs, toMs] (both ends included). */
  peak(fromMs: number, toMs: number): number;
  /**
   * Expected requests per second in each `sliceMs` slice of the UTC week
   * (slice 0 starts Monday 00:00): what the budget plans the rest of its
   * period on.
   */
  weekProfile(sliceMs: number): Float64Array;
}

const mod = (x: number, m: number) => ((x % m) + m) % m;
const clamp = (x: number, low: number, high: number) => Math.min(high, Math.max(low, x));

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1
    ? (values[mid] as number)
    : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}

function usable(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}

/**
 * The model fitted to `history`, or undefined with less than one day of it
 * that covers at least half its buckets (or buckets that do not divide a day).
 */
export function fitForecast(history: RequestRateHistory): SeasonalForecast | undefined {
  if (fitted.has(history)) return fitted.get(history);
  const model = fitModel(history);
  fitted.set(history, model);
  return model;
}

/**
 * Fits by history object: the Lambda reads a new one every tick, but the
 * simulator hands the same object to the ticks between two new buckets
 * (sim/cloudwatch-history.ts), which then share one fit. Callers must not
 * change a history after passing it (none does).
 */
const fitted = new WeakMap<RequestRateHistory, SeasonalForecast | undefined>();

function fitModel(history: RequestRateHistory): SeasonalForecast | undefined {
  const bucketMs = history.bucketMinutes * 60_000;
  if (!(bucketMs > 0) || MS_PER_DAY % bucketMs !== 0) return undefined;
  const perDay = MS_PER_DAY / bucketMs;
  const perWeek = 7 * perDay;
  const y = history.requestsPerSecond;
  const n = y.length;
  // The window is two weeks, but a new deployment has less: the model starts where the data does.
  let first = 0;
  while (first < n && !usable(y[first])) first++;
  const wholeDays = Math.floor((n - first) / perDay);
  if (wholeDays < 1) return undefined;
  const startDaySlot = Math.floor(mod(history.startMs - WEEK_ANCHOR_MS, MS_PER_DAY) / bucketMs);
  const startWeekSlot = Math.floor(mod(history.startMs - WEEK_ANCHOR_MS, MS_PER_WEEK) / bucketMs);
  const daySlot = (i: number) => (startDaySlot + i) % perDay;

  // Start: the first whole days of data (a day here is a run of perDay buckets: every time of day once).
  const initDays = Math.min(7, wholeDays);
  const dayStart = (k: number) => first + k * perDay;
  const dayMean: (number | undefined)[] = [];
  let coveredDays = 0;
  for (let k = 0; k < initDays; k++) {
    let sum = 0;
    let count = 0;
    for (let i = dayStart(k); i < dayStart(k + 1); i++) {
      const v = y[i];
      if (usable(v)) {
        sum += v;
        count++;
      }
    }
    const covered = count >= MIN_DAY_COVERAGE * perDay;
    if (covered) coveredDays++;
    dayMean.push(covered && sum > 0 ? sum / count : undefined);
  }
  if (dayMean.every((m) => m === undefined)) {
    // Whole days of data and not one request: the load is zero until the reactive signals say otherwise.
    return coveredDays > 0 ? constantForecast(0) : undefined;
  }
  // Daily index: the median across the starting days of each time of day's share of its day's mean.
  const daily = new Float64Array(perDay).fill(1);
  const shares: number[] = [];
  for (let s = 0; s < perDay; s++) {
    shares.length = 0;
    for (let k = 0; k < initDays; k++) {
      const mean = dayMean[k];
      const v = y[dayStart(k) + s];
      if (mean !== undefined && usable(v)) shares.push(v / mean);
    }
    const share = median(shares);
    if (share !== undefined) daily[daySlot(first + s)] = share;
  }
  normalise(daily);
  // Each starting day's level: the median of its buckets over their daily index (a burst does not move it).
  const dayLevel: (number | undefined)[] = dayMean.map((mean, k) => {
    if (mean === undefined) return undefined;
    const levels: number[] = [];
    for (let i = dayStart(k); i < dayStart(k + 1); i++) {
      const v = y[i];
      const index = daily[daySlot(i)] as number;
      if (usable(v) && index > 0) levels.push(v / index);
    }
    return median(levels);
  });
  const known = dayLevel.filter((l): l is number => l !== undefined);
  let level = Math.max(MIN_LEVEL_RPS, known.reduce((a, b) => a + b, 0) / known.length);
  // Weekly index: what each time of the week was against level x daily index (weekends against weekdays),
  // taken from whichever week was the less surprising there: a burst in one week is not the pattern.
  const weekly = initDays === 7;
  const weeklyIndex = new Float64Array(weekly ? perWeek : 1).fill(1);
  if (weekly) {
    const seen = new Uint8Array(perWeek);
    // Surprise as a factor either way (2x and 0.5x alike): max(x, 1/x), no logarithm needed.
    const surprise = (x: number) => Math.max(x, 1 / x);
    for (let i = first, d = daySlot(first), w = (startWeekSlot + first) % perWeek; i < n; i++) {
      const v = y[i];
      const index = daily[d] as number;
      if (usable(v) && index > 0) {
        const candidate = Math.max(v, MIN_LEVEL_RPS) / (level * index);
        if (seen[w] === 0 || surprise(candidate) < surprise(weeklyIndex[w] as number)) {
          weeklyIndex[w] = candidate;
          seen[w] = 1;
        }
      }
      if (++d === perDay) d = 0;
      if (++w === perWeek) w = 0;
    }
  }

  // Smooth through the whole history, oldest first.
  const alpha = 1 - Math.exp(-bucketMs / LEVEL_TIME_CONSTANT_MS);
  // Slot counters instead of a modulo per bucket: this loop is the whole cost of a tick's forecast.
  for (let i = first, d = daySlot(first) - 1, ww = ((startWeekSlot + first) % perWeek) - 1; i < n; i++) {
    if (++d >= perDay) d = 0;
    if (++ww >= perWeek) ww = 0;
    const v = y[i];
    if (!usable(v)) continue;
    const w = weekly ? ww : 0;
    const dailyNow = daily[d] as number;
    const weeklyNow = weeklyIndex[w] as number;
    const predicted = level * dailyNow * weeklyNow;
    const ratio = clamp(predicted > 0 ? v / predicted : BURST_CLAMP, 1 / BURST_CLAMP, BURST_CLAMP);
    const nextLevel = Math.max(MIN_LEVEL_RPS, level * (1 + alpha * (ratio - 1)));
    // Each index takes its share of what the clamped observation says it should have been.
    const seen = predicted * ratio;
    if (weeklyNow > 0) daily[d] = (1 - DAILY_SMOOTHING) * dailyNow + (DAILY_SMOOTHING * seen) / (nextLevel * weeklyNow);
    if (weekly && dailyNow > 0)
      weeklyIndex[w] = (1 - WEEKLY_SMOOTHING) * weeklyNow + (WEEKLY_SMOOTHING * seen) / (nextLevel * dailyNow);
    level = nextLevel;
  }

  // A constant for the closures below: a mutable variable they captured would box every update in the loop above.
  const fittedLevel = level;
  const profiles = new Map<number, Float64Array>();
  const at = (ms: number) => {
    const offset = mod(ms - WEEK_ANCHOR_MS, MS_PER_WEEK);
    const d = Math.floor(mod(offset, MS_PER_DAY) / bucketMs);
    const w = weekly ? Math.floor(offset / bucketMs) : 0;
    return fittedLevel * (daily[d] as number) * (weeklyIndex[w] as number);
  };
  return {
    weekly,
    level: fittedLevel,
    at,
    peak(fromMs, toMs) {
      let peak = at(fromMs);
      const last = Math.floor(toMs / bucketMs) * bucketMs;
      for (let ms = Math.floor(fromMs / bucketMs) * bucketMs + bucketMs; ms <= last; ms += bucketMs) {
        peak = Math.max(peak, at(ms));
      }
      return peak;
    },
    weekProfile(sliceMs) {
      const cached = profiles.get(sliceMs);
      if (cached) return cached;
      const slices = Math.ceil(MS_PER_WEEK / sliceMs);
      const sum = new Float64Array(slices);
      const count = new Float64Array(slices);
      if (sliceMs >= bucketMs) {
        // Every bucket of the week once, walked on slot counters (no modulo per bucket).
        for (let j = 0, d = 0; j < perWeek; j++, d = d + 1 === perDay ? 0 : d + 1) {
          const slice = Math.floor((j * bucketMs) / sliceMs);
          const value = fittedLevel * (daily[d] as number) * (weeklyIndex[weekly ? j : 0] as number);
          sum[slice] = (sum[slice] ?? 0) + value;
          count[slice] = (count[slice] ?? 0) + 1;
        }
      } else {
        // Slices finer than buckets: each slice once, at its start.
        for (let slice = 0; slice < slices; slice++) {
          sum[slice] = at(WEEK_ANCHOR_MS + slice * sliceMs);
          count[slice] = 1;
        }
      }
      const profile = sum.map((total, slice) => total / Math.max(1, count[slice] ?? 0));
      profiles.set(sliceMs, profile);
      return profile;
    },
  };
}

/** Indices averaging 1, so the level reads as requests per second. */
function normalise(index: Float64Array): void {
  let sum = 0;
  for (const x of index) sum += x;
  const mean = sum / index.length;
  if (mean > 0) for (let i = 0; i < index.length; i++) index[i] = (index[i] as number) / mean;
}

function constantForecast(rps: number): SeasonalForecast {
  return {
    weekly: false,
    level: rps,
    at: () => rps,
    peak: () => rps,
    weekProfile: (sliceMs) => new Float64Array(Math.ceil(MS_PER_WEEK / sliceMs)).fill(rps),
  };
}
