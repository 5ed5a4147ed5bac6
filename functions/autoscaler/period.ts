/** Budget periods on the UTC calendar: the ledger restarts at each period's start. */
import type { BudgetPeriod } from './settings.js';

export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;
/** The longest calendar month, for a budget check that must hold in every month. */
export const LONGEST_MONTH_DAYS = 31;

export interface PeriodBounds {
  readonly startMs: number;
  readonly endMs: number;
}

/** The period that contains `nowMs` (an explicit window is returned as is, even when `nowMs` lies outside it). */
export function periodBounds(period: BudgetPeriod, nowMs: number): PeriodBounds {
  if (typeof period === 'object') return { startMs: period.startMs, endMs: period.endMs };
  const now = new Date(nowMs);
  const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  switch (period) {
    case 'day':
      return { startMs: dayStart, endMs: dayStart + MS_PER_DAY };
    case 'week': {
      // getUTCDay: 0 is Sunday; ISO weeks start on Monday.
      const sinceMonday = (now.getUTCDay() + 6) % 7;
      const startMs = dayStart - sinceMonday * MS_PER_DAY;
      return { startMs, endMs: startMs + 7 * MS_PER_DAY };
    }
    case 'month':
      return {
        startMs: Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1),
        endMs: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1),
      };
  }
}

/** The longest a period of this kind can be: what a budget must cover in every period. */
export function longestPeriodMs(period: BudgetPeriod): number {
  if (typeof period === 'object') return period.endMs - period.startMs;
  switch (period) {
    case 'day':
      return MS_PER_DAY;
    case 'week':
      return 7 * MS_PER_DAY;
    case 'month':
      return LONGEST_MONTH_DAYS * MS_PER_DAY;
  }
}
