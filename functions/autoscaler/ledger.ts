/**
 * The ledger: what the tiers cost since the last tick, added to the period's
 * spend. It errs high, never low, so the budget caps built on it hold; what
 * it still cannot see is listed on accrue() and kept inside the budget's
 * safety margin (budgetSafetyMargin).
 */
import { FARGATE_MINIMUM_BILLED_SECONDS, taskSecondsUsd } from '#core/pricing/fargate.js';
import type { ServiceName } from '#core/telemetry/metric-names.js';
import { spendableUsd, usdPerTaskMs } from './budget.js';
import type { ServiceObservation, TaskSpan } from './inputs.js';
import type { PeriodBounds } from './period.js';
import { MS_PER_HOUR } from './period.js';
import { type AutoscalerSettings, SERVICE_ORDER } from './settings.js';
import type { PersistedState } from './state.js';

export interface LedgerEntry {
  readonly spendUsd: number;
  /** Dollars added by this tick. */
  readonly accruedUsd: number;
  /** Per service, the count billed for the interval: the next tick's `lastBillable`. */
  readonly billed: Record<ServiceName, number>;
}

/**
 * Spend in `period` up to `nowMs`. Each service's interval since the last
 * tick is billed at the larger of two counts, each of which errs high:
 *
 * - from the counts: the larger of the count this policy last set (tasks
 *   start billing while pending) and running + pending now, for the whole
 *   interval; tasks more than at the last tick started in it and pay at
 *   least Fargate's minute;
 * - from the tasks (ServiceObservation.tasks): each task's own life inside
 *   the interval, from its creation (before its image pull, where Fargate
 *   starts billing) to its stop or to now if it has not stopped (draining
 *   and stopping tasks bill to now), and a task that stopped in the interval
 *   after less than a minute pays the rest of its minute. This catches what
 *   the counts cannot see: tasks stopping after a scale-in, replacements at
 *   a constant count, a deployment's surge, an /add then an /rm between ticks.
 *
 * What neither sees: a task created and stopped while ECS was listing (its
 * minute is in the margin), and stopped tasks that ECS stopped listing (after
 * an hour) before a tick came. Without a state item (the first tick, or the
 * item was deleted) the spend so far is unknown: see unknownSpend.
 */
export function accrue(
  state: PersistedState | undefined,
  observations: Readonly<Record<ServiceName, ServiceObservation>>,
  nowMs: number,
  period: PeriodBounds,
  settings: AutoscalerSettings,
  servicesSinceMs?: number,
): LedgerEntry {
  const billed = { proxy: 0, servers: 0 };
  for (const name of SERVICE_ORDER) {
    const observed = observations[name];
    billed[name] = Math.max(state?.services[name].lastDesired ?? 0, observed.runningCount + observed.pendingCount);
  }
  if (!state) return { spendUsd: unknownSpend(settings, period, nowMs, servicesSinceMs), accruedUsd: 0, billed };
  const samePeriod = state.periodStartMs === period.startMs && state.periodEndMs === period.endMs;
  const carried = samePeriod ? state.spendUsd : 0;
  // Only the part of the interval inside this period is this period's spend.
  const fromMs = Math.max(state.lastTickMs, period.startMs);
  const toMs = Math.min(nowMs, period.endMs);
  const elapsedSeconds = Math.max(0, toMs - fromMs) / 1000;
  if (elapsedSeconds === 0) return { spendUsd: carried, accruedUsd: 0, billed };
  let accrued = (settings.fixedOverheadUsdPerHour * elapsedSeconds * 1000) / MS_PER_HOUR;
  for (const name of SERVICE_ORDER) {
    const billable = billed[name];
    const started = Math.max(0, billable - state.services[name].lastBillable);
    const minimumTopUp = started * Math.max(0, FARGATE_MINIMUM_BILLED_SECONDS - elapsedSeconds);
    const fromCounts = billable * elapsedSeconds + minimumTopUp;
    const fromTasks = taskSecondsIn(observations[name].tasks, fromMs, toMs, nowMs);
    const taskSeconds = Math.max(fromCounts, fromTasks);
    const service = settings.services[name];
    accrued += taskSecondsUsd(service.task, settings.fargateRates, taskSeconds);
    // The add-on (a public IPv4 address) is billed by the hour it is held: the same task-seconds.
    accrued += ((service.perTaskAddOnUsdPerHour ?? 0) * taskSeconds * 1000) / MS_PER_HOUR;
  }
  return { spendUsd: carried + accrued, accruedUsd: accrued, billed };
}

/**
 * Task-seconds the listed tasks spent in [fromMs, toMs): each task's overlap
 * with the interval, plus, for a task that stopped in it, the rest of
 * Fargate's one-minute minimum. A task's minimum is topped up in the one
 * interval its stop falls in, so it is never billed twice.
 */
export function taskSecondsIn(
  tasks: readonly TaskSpan[] | undefined,
  fromMs: number,
  toMs: number,
  nowMs: number,
): number {
  if (!tasks) return 0;
  let ms = 0;
  for (const task of tasks) {
    const endMs = task.stopMs ?? nowMs;
    ms += Math.max(0, Math.min(endMs, toMs) - Math.max(task.startMs, fromMs));
    if (task.stopMs !== undefined && task.stopMs > fromMs && task.stopMs <= toMs) {
      ms += Math.max(0, FARGATE_MINIMUM_BILLED_SECONDS * 1000 - (task.stopMs - task.startMs));
    }
  }
  return ms / 1000;
}

/**
 * What a tick without a state item assumes the period has cost so far. On
 * services created in this period, at this tick, that is nothing (a new
 * deployment). On services that ran before, the ledger was lost (the item
 * deleted, or restored from an old backup): assume they ran at their
 * maximum counts since the period began or they were created, but never
 * more than leaves the minimum counts paid to the period's end, so the
 * tiers stay at their minimum until the period ends rather than spend money
 * that may be gone. Without `servicesSinceMs`, 0 (the simulator's first tick).
 */
export function unknownSpend(
  settings: AutoscalerSettings,
  period: PeriodBounds,
  nowMs: number,
  servicesSinceMs: number | undefined,
): number {
  if (servicesSinceMs === undefined || settings.budgetUsd === Number.POSITIVE_INFINITY) return 0;
  const fromMs = Math.max(period.startMs, servicesSinceMs);
  const ranMs = Math.max(0, Math.min(nowMs, period.endMs) - fromMs);
  if (ranMs === 0) return 0;
  const leftMs = Math.max(0, period.endMs - nowMs);
  let worstPerMs = settings.fixedOverheadUsdPerHour / MS_PER_HOUR;
  let minimumPerMs = worstPerMs;
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    const perTask = usdPerTaskMs(service, settings);
    worstPerMs += service.maxCount * perTask;
    minimumPerMs += service.minCount * perTask;
  }
  return Math.min(worstPerMs * ranMs, Math.max(0, spendableUsd(settings) - minimumPerMs * leftMs));
}
