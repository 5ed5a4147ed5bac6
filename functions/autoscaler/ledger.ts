/**
 * The ledger: what the tiers cost since the last tick, added to the period's
 * spend. It errs high, never low, so the budget caps built on it hold.
 */
import { FARGATE_MINIMUM_BILLED_SECONDS, taskSecondsUsd } from '#core/pricing/fargate.js';
import type { ServiceName } from '#core/telemetry/metric-names.js';
import type { ServiceObservation } from './inputs.js';
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
 * Spend in `period` up to `nowMs`. Between ticks each service is billed for
 * the larger of the count this policy last set (tasks start billing when ECS
 * starts pulling their image, i.e. while pending) and what ECS shows now
 * (tasks slow to stop, or started by someone else). Tasks more than at the
 * last tick were started in the interval and cost at least Fargate's minute.
 * The first tick after a deployment has no interval: spend before it is
 * unknown and starts at 0.
 */
export function accrue(
  state: PersistedState | undefined,
  observations: Readonly<Record<ServiceName, ServiceObservation>>,
  nowMs: number,
  period: PeriodBounds,
  settings: AutoscalerSettings,
): LedgerEntry {
  const billed = { proxy: 0, servers: 0 };
  for (const name of SERVICE_ORDER) {
    const observed = observations[name];
    billed[name] = Math.max(state?.services[name].lastDesired ?? 0, observed.runningCount + observed.pendingCount);
  }
  if (!state) return { spendUsd: 0, accruedUsd: 0, billed };
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
    const service = settings.services[name];
    accrued += taskSecondsUsd(service.task, settings.fargateRates, billable * elapsedSeconds + minimumTopUp);
    accrued += ((service.perTaskAddOnUsdPerHour ?? 0) * billable * elapsedSeconds * 1000) / MS_PER_HOUR;
  }
  return { spendUsd: carried + accrued, accruedUsd: accrued, billed };
}
