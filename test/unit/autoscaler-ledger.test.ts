import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { taskSecondsUsd } from '#core/pricing/fargate.js';
import { hardCapLookAheadMs, spendableUsd } from '#functions/autoscaler/budget.js';
import type { TaskSpan } from '#functions/autoscaler/inputs.js';
import { accrue, taskSecondsIn } from '#functions/autoscaler/ledger.js';
import { periodBounds } from '#functions/autoscaler/period.js';
import {
  type AutoscalerSettings,
  decide,
  minimumSpendForPeriod,
  type PersistedState,
  type ServiceObservation,
  withDefaults,
} from '#functions/autoscaler/policy.js';
import { spentLeaving } from '#scripts/local/seed-ledger.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Tuesday 2026-01-06 10:00 UTC: a tick. */
const T = Date.UTC(2026, 0, 6, 10);
const TASK = { cpu: 512, memoryMiB: 1024, architecture: 'x86_64' } as const;

const settings: AutoscalerSettings = withDefaults({
  services: {
    proxy: { minCount: 1, maxCount: 4, targetRequestsPerTaskPerSecond: 600, targetCpuPercent: 60, task: TASK },
    servers: { minCount: 1, maxCount: 50, targetRequestsPerTaskPerSecond: 60, targetCpuPercent: 60, task: TASK },
  },
  p99SloMs: 250,
  budgetUsd: 1000,
  budgetPeriod: 'day',
});
const period = periodBounds('day', T);
const usd = (taskSeconds: number) => taskSecondsUsd(TASK, settings.fargateRates, taskSeconds);

/** The state a tick one minute before T left: `count` servers asked for and billed. */
function stateAt(count: number, atMs = T - MINUTE): PersistedState {
  const service = (n: number) => ({ lastDesired: n, lastBillable: n, recentRecommendations: [], lastScaleOutMs: null });
  return {
    format: 1,
    version: 1,
    periodStartMs: period.startMs,
    periodEndMs: period.endMs,
    spendUsd: 0,
    lastTickMs: atMs,
    services: { proxy: service(1), servers: service(count) },
  };
}

const seen = (count: number, tasks?: TaskSpan[]): ServiceObservation => ({
  runningCount: count,
  pendingCount: 0,
  desiredCount: count,
  metrics: { complete: false },
  tasks,
});
const running = (n: number, startMs = T - HOUR): TaskSpan[] => Array.from({ length: n }, () => ({ startMs }));

/** The servers' share of one minute's bill (the proxy's single task is the same in every case). */
function serverSeconds(state: PersistedState, servers: ServiceObservation): number {
  const entry = accrue(state, { proxy: seen(1, running(1)), servers }, T, period, settings);
  return (entry.accruedUsd - usd(60)) / usd(1);
}

describe('the ledger errs high', () => {
  it('bills tasks still draining or stopping after a scale-in until they stop', () => {
    // The last tick scaled 6 -> 2; four tasks are still draining (no stoppedAt yet).
    const tasks = [...running(2), ...running(4)];
    expect(serverSeconds(stateAt(2), seen(2))).toBeCloseTo(2 * 60, 6);
    expect(serverSeconds(stateAt(2), seen(2, tasks))).toBeCloseTo(6 * 60, 6);
    // Two stopped 30 s into the minute, two are still stopping.
    const partly = [...running(2), ...running(2), { startMs: T - HOUR, stopMs: T - 30 * SECOND }];
    partly.push({ startMs: T - HOUR, stopMs: T - 30 * SECOND });
    expect(serverSeconds(stateAt(2), seen(2, partly))).toBeCloseTo(4 * 60 + 2 * 30, 6);
  });

  it('bills a replacement at a constant count, with the failed task paying Fargate’s minute', () => {
    // Three tasks at both ticks, but one crashed 20 s after it started and was replaced.
    const tasks = [...running(2), { startMs: T - 50 * SECOND, stopMs: T - 30 * SECOND }, { startMs: T - 25 * SECOND }];
    expect(serverSeconds(stateAt(3), seen(3))).toBeCloseTo(3 * 60, 6);
    // 2 x 60 for the steady ones, 60 for the crashed one (its minute), 25 for the replacement so far.
    expect(serverSeconds(stateAt(3), seen(3, tasks))).toBeCloseTo(2 * 60 + 60 + 25, 6);
  });

  it('bills a rolling deployment’s surge: old and new tasks both', () => {
    // Four old tasks and four new ones started 40 s ago; the service still reports 4.
    const tasks = [...running(4), ...running(4, T - 40 * SECOND)];
    expect(serverSeconds(stateAt(4), seen(4))).toBeCloseTo(4 * 60, 6);
    expect(serverSeconds(stateAt(4), seen(4, tasks))).toBeCloseTo(4 * 60 + 4 * 40, 6);
  });

  it('bills an /add then an /rm between two ticks at Fargate’s minimum', () => {
    const tasks = [
      ...running(2),
      ...Array.from({ length: 3 }, () => ({ startMs: T - 45 * SECOND, stopMs: T - 30 * SECOND })),
    ];
    expect(serverSeconds(stateAt(2), seen(2, tasks))).toBeCloseTo(2 * 60 + 3 * 60, 6);
  });

  it('tops up a task’s minute once, in the interval its stop falls in', () => {
    const task: TaskSpan = { startMs: T - 70 * SECOND, stopMs: T - 30 * SECOND };
    const first = taskSecondsIn([task], T - 2 * MINUTE, T - MINUTE, T - MINUTE);
    const second = taskSecondsIn([task], T - MINUTE, T, T);
    expect(first + second).toBeCloseTo(60, 6);
    expect(taskSecondsIn([task], T, T + MINUTE, T + MINUTE)).toBe(0);
  });

  it('over any task lives and any tick times, bills at least what Fargate bills', () => {
    const spanArb = fc
      .tuple(fc.integer({ min: 0, max: 20 * MINUTE }), fc.option(fc.integer({ min: 1_000, max: 8 * MINUTE })))
      .map(([start, life]) => ({ startMs: T + start, lifeMs: life ?? undefined }));
    fc.assert(
      fc.property(
        fc.array(spanArb, { maxLength: 12 }),
        fc.array(fc.integer({ min: 10 * SECOND, max: 3 * MINUTE }), { minLength: 5, maxLength: 30 }),
        (spans, gaps) => {
          let now = T;
          let billed = 0;
          for (const gap of gaps) {
            const from = now;
            now += gap;
            // What ECS lists at `now`: tasks created by then, stopped only if their stop has passed.
            const listed = spans
              .filter((s) => s.startMs <= now)
              .map((s) =>
                s.lifeMs !== undefined && s.startMs + s.lifeMs <= now
                  ? { startMs: s.startMs, stopMs: s.startMs + s.lifeMs }
                  : { startMs: s.startMs },
              );
            billed += taskSecondsIn(listed, from, now, now);
          }
          // Fargate: each task from start to stop (or to the last tick), at least a minute once stopped.
          let truth = 0;
          for (const s of spans) {
            if (s.startMs >= now) continue;
            const stop = s.lifeMs === undefined ? now : Math.min(now, s.startMs + s.lifeMs);
            const stopped = s.lifeMs !== undefined && s.startMs + s.lifeMs <= now;
            truth += (stopped ? Math.max(60 * SECOND, stop - s.startMs) : stop - s.startMs) / SECOND;
          }
          expect(billed).toBeGreaterThanOrEqual(truth - 1e-6);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('the safety margin and the failsafe look-ahead', () => {
  it('keeps the margin unspent: money the budget has but the margin holds back pays nothing above the minimum', () => {
    const budget = 1000;
    const s = { ...settings, budgetUsd: budget };
    const leftMs = period.endMs - T;
    const minimumToEnd = (minimumSpendForPeriod(s) * leftMs) / (24 * HOUR);
    // 0.5% of the budget left beyond the minimums: inside the 1% margin.
    const spent = budget - minimumToEnd - 0.005 * budget;
    const state = { ...stateAt(10), spendUsd: spent, lastTickMs: T };
    const observe = { proxy: seen(1), servers: seen(10) };
    const noMargin = decide({ nowMs: T, services: observe, state, settings: { ...s, budgetSafetyMargin: 0 } });
    expect(noMargin.budget.belowMinimum).toBe(false);
    expect(noMargin.services.servers.desiredCount).toBe(10);
    const margin = decide({ nowMs: T, services: observe, state, settings: s });
    expect(spendableUsd(s)).toBeCloseTo(budget * 0.99, 9);
    expect(margin.budget.belowMinimum).toBe(true);
    expect(margin.services.servers.desiredCount).toBe(1);
  });

  it('pays the counts it allows until the failsafe would act', () => {
    expect(hardCapLookAheadMs(settings)).toBe((10 + 3) * MINUTE);
    expect(hardCapLookAheadMs({ ...settings, failsafeAfterMinutes: 30 })).toBe(33 * MINUTE);
    expect(hardCapLookAheadMs({ ...settings, failsafeAfterMinutes: 1, tickMinutes: 5 })).toBe(10 * MINUTE);
  });

  it('reserves a deployment’s surge: the hard cap pays twice the count for its look-ahead', () => {
    const s = { ...settings, budgetUsd: 1000, budgetSafetyMargin: 0 };
    const leftMs = period.endMs - T;
    const perMs = (minimumSpendForPeriod(s) / (24 * HOUR)) as number;
    const taskPerMs = usd(1) / SECOND;
    const aheadMs = hardCapLookAheadMs(s);
    // Beyond the minimums to the end of the day (and their own surge): 20 server tasks for the look-ahead.
    const extra = 20 * taskPerMs * aheadMs;
    const minSurge = 2 * taskPerMs * aheadMs;
    const spent = s.budgetUsd - perMs * leftMs - extra - minSurge;
    const state = { ...stateAt(10), spendUsd: spent, lastTickMs: T };
    const observe = { proxy: seen(1), servers: seen(50) };
    const caps = (surge: number) =>
      decide({ nowMs: T, services: observe, state, settings: { ...s, deploySurgeFactor: surge } }).budget.hardCaps;
    expect(caps(1).servers).toBe(1 + 20 + 2);
    expect(caps(2).servers).toBe(1 + 10);
  });

  it('the local demo’s RINGMASTER_LEFT_USD shows the cap at work, not the below-minimum state', () => {
    const s = { ...settings, budgetUsd: 1000, budgetPeriod: 'month' as const };
    const spent = spentLeaving(s, 0.05, T);
    const monthStart = Date.UTC(2026, 0, 1);
    const state = {
      ...stateAt(4),
      periodStartMs: monthStart,
      periodEndMs: Date.UTC(2026, 1, 1),
      spendUsd: spent,
      lastTickMs: T,
    };
    const busy = (n: number): ServiceObservation => ({
      ...seen(n),
      metrics: { requestsPerSecond: 3_000, complete: true },
    });
    const decision = decide({ nowMs: T, services: { proxy: seen(1), servers: busy(4) }, state, settings: s });
    expect(decision.budget.belowMinimum).toBe(false);
    expect(decision.services.servers.budgetLimited).toBe(true);
    expect(decision.services.servers.desiredCount).toBeLessThan(10);
  });

  it('a lost state item on services that ran before assumes the worst: the tiers stay at their minimum', () => {
    const s = { ...settings, budgetUsd: 1000 };
    const busy = (n: number): ServiceObservation => ({
      ...seen(n),
      metrics: { requestsPerSecond: 3_000, complete: true },
    });
    const services = { proxy: seen(1), servers: busy(4) };
    // A new deployment: services created moments ago, nothing spent, the load gets its servers.
    const fresh = decide({ nowMs: T, services, settings: s, servicesSinceMs: T - 30 * SECOND });
    // (At most its 30 s at the maximum counts: 54 tasks.)
    expect(fresh.budget.spendUsd).toBeLessThan(0.02);
    expect(fresh.services.servers.desiredCount).toBeGreaterThan(4);
    // The same services, created before the day began: the ledger was lost. The worst they could
    // have cost since midnight (10 h at the maximum counts) is more than a small budget leaves
    // beyond the minimums, so the spend is taken to be all of that, and the tiers hold their minimum.
    const small = { ...s, budgetUsd: minimumSpendForPeriod(settings) * 1.5 };
    const lost = decide({ nowMs: T, services, settings: small, servicesSinceMs: period.startMs - HOUR });
    expect(lost.budget.belowMinimum).toBe(false);
    expect(lost.budget.extraUsd).toBeCloseTo(0, 9);
    expect(lost.services.servers.desiredCount).toBe(1);
    // With a budget the worst case cannot exhaust, the worst case is what is assumed.
    const roomy = decide({ nowMs: T, services, settings: s, servicesSinceMs: period.startMs - HOUR });
    expect(roomy.budget.spendUsd).toBeCloseTo((54 * usd(3600) + 0) * 10, 6);
    expect(lost.services.servers.budgetLimited).toBe(true);
  });
});
