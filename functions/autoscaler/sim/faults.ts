/**
 * Faults in the replays (`faults.<name>.maxSpendOverBudget` of
 * `bench:autoscaler --json`): each is injected into randomized tight-budget
 * replays of Ringmaster's policy (randomized.ts), and the worst spend ÷
 * budget is reported. The model shows each fault honestly: a stop that
 * takes 90 s bills for 90 s, a deploy's second copy of the tasks bills while
 * it runs, missed ticks leave the counts where they were until the failsafe
 * (as deployed: failsafeAfterMinutes plus its action's delay) lowers them.
 */

import { seededRandom } from '#core/util/seeded-random.js';
import { minimumSpendForPeriod, spendableUsd } from '../budget.js';
import { longestPeriodMs, periodBounds } from '../period.js';
import { type Faults, type ReplayOptions, replay } from './model.js';
import { policy, randomCase } from './randomized.js';

export const FAULT_NAMES = [
  'missedTicks30m',
  'missedTicks2h',
  'metricsOutage',
  'slowStops',
  'deploySurge',
  'manualAdd',
  'monthRollover',
  'stateLoss',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** A proxy task's drain: the longest stop of either tier. */
export const SLOW_STOP_SECONDS = 90;
/** A rolling deploy's replacement of every task, at maxHealthyPercent 200. */
export const DEPLOY_MINUTES = 10;
/** Servers one /add asks for, and how many /adds a replay makes. */
export const MANUAL_ADD_SERVERS = 5;
const MANUAL_ADDS = 3;

/** The fault `name` placed in a trace of `minutes` minutes, `at` a fraction of the way through. */
export function faultAt(name: FaultName, minutes: number, at: number): Faults {
  const minute = Math.floor(at * minutes);
  switch (name) {
    case 'missedTicks30m':
      return { missedTicks: { fromMinute: minute, minutes: 30 } };
    case 'missedTicks2h':
      return { missedTicks: { fromMinute: minute, minutes: 120 } };
    case 'metricsOutage':
      return { metricsOutage: { fromMinute: minute, minutes: 60 } };
    case 'slowStops':
      return { slowStopSeconds: SLOW_STOP_SECONDS };
    case 'deploySurge':
      return { deploySurge: { atMinute: minute, minutes: DEPLOY_MINUTES } };
    case 'manualAdd':
      return {
        manualAdd: {
          atMinutes: Array.from({ length: MANUAL_ADDS }, (_, i) => Math.floor(((at + i / MANUAL_ADDS) % 1) * minutes)),
          n: MANUAL_ADD_SERVERS,
        },
      };
    case 'stateLoss':
      return { stateLossAtMinute: minute };
    case 'monthRollover':
      return {};
  }
}

/** Merges several faults' plans (for `--faults a,b`). */
export function combineFaults(plans: readonly Faults[]): Faults {
  return Object.assign({}, ...plans) as Faults;
}

/** Month ends the monthRollover replays cross: after a 28-, a 30- and a 31-day month. */
const MONTH_ENDS = [Date.UTC(2026, 2, 1), Date.UTC(2026, 4, 1), Date.UTC(2026, 1, 1)];

export interface FaultResult {
  readonly replays: number;
  readonly maxSpendOverBudget: number;
}

export function faultReplays(seed: number, replays: number): Record<FaultName, FaultResult> {
  const out = {} as Record<FaultName, FaultResult>;
  for (const [f, name] of FAULT_NAMES.entries()) {
    const random = seededRandom(seed + 101 * (f + 1));
    let worst = 0;
    for (let r = 0; r < replays; r++) {
      worst = Math.max(
        worst,
        name === 'monthRollover' ? monthRollover(random, seed, r) : faulted(name, random, seed, r),
      );
    }
    out[name] = { replays, maxSpendOverBudget: worst };
  }
  return out;
}

function faulted(name: FaultName, random: () => number, seed: number, r: number): number {
  const c = randomCase(random, seed * 7919 + r);
  const options: ReplayOptions = {
    budgetUsd: c.budgetUsd,
    periodStartMs: c.periodStartMs,
    periodEndMs: c.periodEndMs,
    // Somewhere in the day's first 85%, so even a 2-hour fault ends inside the period.
    faults: faultAt(name, c.trace.rps.length, 0.05 + random() * 0.8),
  };
  const result = replay(c.trace, policy, c.config, options);
  let spent = 0;
  for (const dollars of result.dollars) spent += dollars;
  return spent / c.budgetUsd;
}

/**
 * A calendar-month budget across a month's end: the trace starts 12 hours
 * before it, with the ledger as the month's earlier days left it (little
 * money beyond what the minimum counts cost to the end), and each month's
 * spend is compared with the budget.
 */
function monthRollover(random: () => number, seed: number, r: number): number {
  const monthEnd = MONTH_ENDS[r % MONTH_ENDS.length] as number;
  const epochMs = monthEnd - 12 * 3_600_000;
  const c = randomCase(random, seed * 7919 + r, epochMs);
  const settings = { ...c.config.settings, budgetPeriod: 'month' as const };
  const minimumPerMs = minimumSpendForPeriod(settings) / longestPeriodMs('month');
  const budgetUsd = minimumSpendForPeriod(settings) * (1.02 + random());
  const period = periodBounds('month', epochMs);
  const leftBeyondMinimum = random() * 0.5 * minimumPerMs * (period.endMs - epochMs);
  const initialSpendUsd = Math.max(
    0,
    spendableUsd({ ...settings, budgetUsd }) - minimumPerMs * (period.endMs - epochMs) - leftBeyondMinimum,
  );
  const result = replay(c.trace, policy, c.config, { budgetUsd, budgetPeriod: 'month', initialSpendUsd });
  const boundary = Math.round((monthEnd - epochMs) / 60_000);
  let before = initialSpendUsd;
  let after = 0;
  result.dollars.forEach((dollars, minute) => {
    if (minute < boundary) before += dollars;
    else after += dollars;
  });
  return Math.max(before, after) / budgetUsd;
}
