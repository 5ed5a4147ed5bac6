import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BURST_CLAMP, fitForecast, MS_PER_WEEK, WEEK_ANCHOR_MS } from '#functions/autoscaler/forecast.js';
import type { RequestRateHistory } from '#functions/autoscaler/inputs.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const BUCKET_MINUTES = 5;
const BUCKET = BUCKET_MINUTES * MINUTE;
/** A Monday 00:00 UTC. */
const MONDAY = Date.UTC(2026, 0, 5);

/** Office days (a 09:00-17:00 plateau at `peak`) and weekends at `weekend` x a flat afternoon; `base` at night. */
function load(ms: number, peak = 3_000, weekend = 0.3, base = 300): number {
  const day = Math.floor((((ms - WEEK_ANCHOR_MS) % MS_PER_WEEK) + MS_PER_WEEK) / DAY) % 7;
  const hour = (((ms % DAY) + DAY) % DAY) / HOUR;
  if (day >= 5) return hour >= 11 && hour < 18 ? peak * weekend : base;
  return hour >= 9 && hour < 17 ? peak : base;
}

/** `days` of 5-minute history ending at `endMs`, from `rate`, with multiplicative noise from `noise`. */
function history(endMs: number, days: number, rate: (ms: number) => number, noise?: () => number): RequestRateHistory {
  const buckets = (days * DAY) / BUCKET;
  const startMs = endMs - buckets * BUCKET;
  const rps = new Float64Array(buckets);
  for (let i = 0; i < buckets; i++) rps[i] = rate(startMs + i * BUCKET) * (noise ? noise() : 1);
  return { bucketMinutes: BUCKET_MINUTES, startMs, requestsPerSecond: rps };
}

describe('forecast: double-seasonal Holt-Winters', () => {
  it('needs a day of history, and a week for the weekly pattern', () => {
    expect(fitForecast(history(MONDAY + 14 * DAY, 0.5, load))).toBeUndefined();
    expect(fitForecast(history(MONDAY + 14 * DAY, 3, load))?.weekly).toBe(false);
    expect(fitForecast(history(MONDAY + 14 * DAY, 14, load))?.weekly).toBe(true);
  });

  it('learns weekdays against weekends from two weeks: Saturday is not Friday, Monday is not Sunday', () => {
    // History ends on Friday 23:00 of the second week.
    const end = MONDAY + 11 * DAY + 23 * HOUR;
    const model = fitForecast(history(end, 14, load));
    expect(model).toBeDefined();
    const saturday10 = MONDAY + 12 * DAY + 10 * HOUR;
    const saturday12 = MONDAY + 12 * DAY + 12 * HOUR;
    const monday10 = MONDAY + 14 * DAY + 10 * HOUR;
    expect(model?.at(saturday10)).toBeCloseTo(300, 0);
    expect(model?.at(saturday12)).toBeCloseTo(900, 0);
    expect(model?.at(monday10)).toBeCloseTo(3_000, 0);
    // A daily-only model (a week of history or less) would expect Friday's peak on Saturday morning.
    const daily = fitForecast(history(end, 5, load));
    expect(daily?.weekly).toBe(false);
    expect(daily?.at(saturday10)).toBeGreaterThan(2_000);
  });

  it('covers every bucket of the horizon, both ends included', () => {
    const end = MONDAY + 7 * DAY + 8 * HOUR + 55 * MINUTE;
    const model = fitForecast(history(end, 14, load));
    // 08:58 to 09:00: the 09:00 bucket is in the window.
    expect(model?.peak(end + 3 * MINUTE, end + 5 * MINUTE)).toBeCloseTo(3_000, 0);
    expect(model?.peak(end + 3 * MINUTE, end + 4 * MINUTE)).toBeCloseTo(300, 0);
  });

  it('plans on the week: its profile has weekday peaks and weekend plateaus where they fall', () => {
    const model = fitForecast(history(MONDAY + 14 * DAY, 14, load));
    const profile = model?.weekProfile(15 * MINUTE) ?? new Float64Array();
    expect(profile.length).toBe(7 * 24 * 4);
    const slice = (day: number, hour: number) => profile[(day * 24 + hour) * 4] ?? Number.NaN;
    expect(slice(0, 10)).toBeCloseTo(3_000, 0);
    expect(slice(2, 3)).toBeCloseTo(300, 0);
    expect(slice(5, 12)).toBeCloseTo(900, 0);
  });

  it('follows a lasting change of level within hours', () => {
    // The second week is 1.5x the first from its Monday on; by Friday the model expects 1.5x.
    const end = MONDAY + 11 * DAY + 23 * HOUR;
    const model = fitForecast(history(end, 14, (ms) => load(ms) * (ms >= MONDAY + 7 * DAY ? 1.5 : 1)));
    expect(model?.at(MONDAY + 14 * DAY + 10 * HOUR)).toBeGreaterThan(0.9 * 1.5 * 3_000);
  });

  it('one burst does not make the plan several times busier: any height, up to two hours, anywhere', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 2, max: 20, noNaN: true }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 0, max: (14 * DAY) / BUCKET - 1 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (factor, buckets, at, seed) => {
          let state = seed;
          const noise = () => {
            state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
            return 0.97 + 0.06 * (state / 2 ** 32);
          };
          const endMs = MONDAY + 14 * DAY + 13 * HOUR;
          const calm = history(endMs, 14, load, noise);
          const burst = Float64Array.from(calm.requestsPerSecond as Float64Array);
          for (let i = at; i < Math.min(burst.length, at + buckets); i++) burst[i] = (burst[i] ?? 0) * factor;
          const mean = (p: Float64Array) => p.reduce((a, b) => a + b, 0) / p.length;
          const base = fitForecast(calm);
          const hit = fitForecast({ ...calm, requestsPerSecond: burst });
          if (!base || !hit) throw new Error('two weeks must fit');
          const ratio = mean(hit.weekProfile(15 * MINUTE)) / mean(base.weekProfile(15 * MINUTE));
          expect(ratio).toBeLessThanOrEqual(BURST_CLAMP);
          // And the next minutes are not planned at the burst's height either.
          expect(hit.at(endMs + MINUTE)).toBeLessThanOrEqual(BURST_CLAMP * base.at(endMs + MINUTE));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('starts where the data does: a new deployment has three days in a two-week window', () => {
    // Data from Monday to Wednesday of the second week only; Thursday is expected like them.
    const h = history(MONDAY + 10 * DAY, 14, load);
    const recent = Float64Array.from(h.requestsPerSecond as Float64Array);
    recent.fill(Number.NaN, 0, recent.length - (3 * DAY) / BUCKET);
    const model = fitForecast({ ...h, requestsPerSecond: recent });
    expect(model?.weekly).toBe(false);
    expect(model?.at(MONDAY + 10 * DAY + 10 * HOUR)).toBeCloseTo(3_000, 0);
    expect(model?.at(MONDAY + 10 * DAY + 3 * HOUR)).toBeCloseTo(300, 0);
  });

  it('treats gaps as unknown, not as zero load', () => {
    const h = history(MONDAY + 14 * DAY, 14, load);
    const gappy = Float64Array.from(h.requestsPerSecond as Float64Array);
    // The whole of the last day's office hours missing.
    for (let i = gappy.length - (15 * HOUR) / BUCKET; i < gappy.length - (7 * HOUR) / BUCKET; i++)
      gappy[i] = Number.NaN;
    const model = fitForecast({ ...h, requestsPerSecond: gappy });
    expect(model?.at(MONDAY + 14 * DAY + 10 * HOUR)).toBeCloseTo(3_000, 0);
  });
});
