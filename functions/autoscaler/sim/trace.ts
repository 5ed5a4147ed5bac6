/** Load traces: requests per second for each minute, built from a seed or read from a `minute,rps` CSV. */
import { seededRandom } from '#core/util/seeded-random.js';

export const MINUTES_PER_DAY = 1_440;

export interface Trace {
  readonly name: string;
  readonly rps: Float64Array;
  /** Scores count minutes from here on (earlier ones only build history). */
  readonly scoreFromMinute: number;
  /** Minutes at which the load jumps: each is scored for reaction time. */
  readonly steps: readonly number[];
  /** Load before minute 0, which policies see as history only (nothing runs or bills then). */
  readonly priorRps?: Float64Array;
}

/** The shape of a working day, as fractions of the peak at times of day (hours), joined by straight lines. */
const DIURNAL_SHAPE: readonly (readonly [hour: number, level: number])[] = [
  [0, 0.2],
  [4, 0.12],
  [7, 0.15],
  // Office opens: a steep ramp (9 minutes to 3.5x) that reactive policies trail.
  [7.9, 0.2],
  [8.05, 0.7],
  [11.95, 0.72],
  // Lunch-time peak: +40% in 4 minutes.
  [12.02, 1],
  [13, 0.95],
  [13.2, 0.8],
  [17.5, 0.75],
  [19, 0.45],
  [22, 0.3],
  [24, 0.2],
];
/**
 * A weekend day (trace days 5 and 6 of each week: minute 0 is a Monday): no
 * office ramp, a slow rise to an afternoon plateau at 40% of a weekday's
 * peak. A forecast from yesterday alone gets Saturday morning (and Monday's
 * ramp) wrong; one with a weekly pattern does not.
 */
const WEEKEND_SHAPE: readonly (readonly [hour: number, level: number])[] = [
  [0, 0.2],
  [3, 0.12],
  [8, 0.12],
  [10, 0.3],
  [13, 0.4],
  [16, 0.38],
  [19, 0.35],
  [22, 0.26],
  [24, 0.2],
];
export const DIURNAL_PEAK_RPS = 3_000;
/** Weeks of history before the scored week in the bench's diurnal trace: the forecast's weekly pattern needs two. */
export const DIURNAL_HISTORY_WEEKS = 2;
/** Per-minute noise on the diurnal days, and how much a day's overall level may differ. */
const DIURNAL_NOISE = 0.05;
const DIURNAL_DAY_LEVEL_SPREAD = 0.05;

function shapeAt(hour: number, shape: readonly (readonly [number, number])[]): number {
  for (let i = 1; i < shape.length; i++) {
    const [h1, v1] = shape[i] as readonly [number, number];
    const [h0, v0] = shape[i - 1] as readonly [number, number];
    if (hour <= h1) return v0 + ((v1 - v0) * (hour - h0)) / (h1 - h0);
  }
  return shape[shape.length - 1]?.[1] ?? 0;
}

/** Symmetric uniform noise of ± `amplitude`. */
const jitter = (random: () => number, amplitude: number) => 1 + amplitude * (2 * random() - 1);

/** Office days and quieter weekends from a Monday, every minute scored after the first `days - 1` days. */
export function diurnal(seed: number, days = 3, peakRps = DIURNAL_PEAK_RPS): Trace {
  const random = seededRandom(seed);
  const rps = new Float64Array(days * MINUTES_PER_DAY);
  for (let day = 0; day < days; day++) {
    const level = jitter(random, DIURNAL_DAY_LEVEL_SPREAD);
    const shape = day % 7 >= 5 ? WEEKEND_SHAPE : DIURNAL_SHAPE;
    for (let m = 0; m < MINUTES_PER_DAY; m++) {
      rps[day * MINUTES_PER_DAY + m] = peakRps * level * shapeAt(m / 60, shape) * jitter(random, DIURNAL_NOISE);
    }
  }
  return { name: 'diurnal', rps, scoreFromMinute: (days - 1) * MINUTES_PER_DAY, steps: [] };
}

/**
 * The bench's diurnal trace: a week of office days and a weekend, replayed
 * and scored whole, after DIURNAL_HISTORY_WEEKS weeks the policies see as
 * history only (the load the Lambda would read from CloudWatch).
 */
export function weeklyDiurnal(seed: number, peakRps = DIURNAL_PEAK_RPS): Trace {
  const historyMinutes = DIURNAL_HISTORY_WEEKS * 7 * MINUTES_PER_DAY;
  const all = diurnal(seed, (DIURNAL_HISTORY_WEEKS + 1) * 7, peakRps).rps;
  return {
    name: 'diurnal',
    rps: all.slice(historyMinutes),
    priorRps: all.slice(0, historyMinutes),
    scoreFromMinute: 0,
    steps: [],
  };
}

export function step5x(baseRps = 400, minutesEach = 60): Trace {
  const rps = new Float64Array(2 * minutesEach);
  rps.fill(baseRps, 0, minutesEach);
  rps.fill(5 * baseRps, minutesEach);
  return { name: 'step5x', rps, scoreFromMinute: 0, steps: [minutesEach] };
}

/** Short bursts to 3x: the load a reactive policy always trails by its metric delay and task start. */
export function spikes(seed: number, minutes = 360, baseRps = 600): Trace {
  const random = seededRandom(seed);
  const rps = new Float64Array(minutes);
  for (let m = 0; m < minutes; m++) rps[m] = baseRps * jitter(random, 0.05);
  const steps: number[] = [];
  for (let start = 30 + Math.floor(random() * 20); start < minutes - 20; start += 35 + Math.floor(random() * 25)) {
    const length = 5 + Math.floor(random() * 11);
    for (let m = start; m < Math.min(minutes, start + length); m++) rps[m] = (rps[m] ?? 0) * 3;
    steps.push(start);
  }
  return { name: 'spikes', rps, scoreFromMinute: 0, steps };
}

export function noisySteady(seed: number, minutes = 360, baseRps = 1_200, noise = 0.15): Trace {
  const random = seededRandom(seed);
  const rps = new Float64Array(minutes);
  for (let m = 0; m < minutes; m++) rps[m] = baseRps * jitter(random, noise);
  return { name: 'noisySteady', rps, scoreFromMinute: 0, steps: [] };
}

/** A CSV line that is not `minute,rps`; names the line (1-based) and the reason. */
export class TraceCsvError extends Error {
  override readonly name = 'TraceCsvError';
  constructor(
    readonly line: number,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`line ${line}: ${reason}`, options);
  }
}

/** Longest trace a CSV may hold: 31 days of minutes. */
export const MAX_TRACE_MINUTES = 31 * MINUTES_PER_DAY;
const HEADER = /^\s*minute\s*,\s*rps\s*$/i;
const NUMBER = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * Parses `minute,rps` lines: an optional header, blank lines and `#`
 * comments allowed; minutes must be consecutive whole numbers (the first may
 * be any), rates finite and not negative.
 */
export function parseTraceCsv(text: string, name = 'csv'): Trace {
  const values: number[] = [];
  let previousMinute: number | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNumber = i + 1;
    const line = lines[i]?.trim() ?? '';
    if (line === '' || line.startsWith('#')) continue;
    if (previousMinute === undefined && values.length === 0 && HEADER.test(line)) continue;
    const fields = line.split(',');
    if (fields.length !== 2) {
      throw new TraceCsvError(lineNumber, `expected 2 fields "minute,rps", got ${fields.length}`);
    }
    const [minuteText = '', rpsText = ''] = fields;
    if (!/^\s*\d+\s*$/.test(minuteText)) {
      throw new TraceCsvError(lineNumber, `minute must be a whole number, got ${JSON.stringify(minuteText.trim())}`);
    }
    const minute = Number(minuteText);
    if (previousMinute !== undefined && minute !== previousMinute + 1) {
      throw new TraceCsvError(
        lineNumber,
        `minute ${minute} does not follow ${previousMinute} (minutes must be consecutive)`,
      );
    }
    if (!NUMBER.test(rpsText) || Number(rpsText) < 0 || !Number.isFinite(Number(rpsText))) {
      throw new TraceCsvError(lineNumber, `rps must be a number >= 0, got ${JSON.stringify(rpsText.trim())}`);
    }
    if (values.length >= MAX_TRACE_MINUTES) {
      throw new TraceCsvError(lineNumber, `more than ${MAX_TRACE_MINUTES} minutes`);
    }
    values.push(Number(rpsText));
    previousMinute = minute;
  }
  if (values.length === 0) throw new TraceCsvError(lines.length, 'no data lines');
  return { name, rps: Float64Array.from(values), scoreFromMinute: 0, steps: [] };
}
