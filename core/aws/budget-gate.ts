/**
 * The budget's say on capacity added by hand: the admin API's /add on AWS
 * raises the servers service's desired count through EcsScaler, which asks
 * this gate first. The gate reads what the autoscaler's last tick wrote on
 * its state item (TickSummary.addLimits): the highest count the budget's
 * hard cap allows (what the money left can pay until the failsafe would
 * act, inside the safety margin) and the service's maxCount. The tick itself
 * cannot be asked: it runs in another process once a minute.
 */
import { DomainError } from '../errors/domain-error.js';
import type { AddLimit, AutoscalerStateStore } from './autoscaler-state-store.js';

/**
 * A tick summary older than this is too old to vouch for the budget: ticks
 * come every minute, and after a few missed ones the failsafe is near.
 */
export const MAX_SUMMARY_AGE_MS = 5 * 60_000;

/** Checks a raise of a service's desired count; throws a DomainError naming `n` when it may not happen. */
export interface CapacityGate {
  allow(fromCount: number, toCount: number): Promise<void>;
}

export class BudgetGate implements CapacityGate {
  constructor(
    private readonly store: Pick<AutoscalerStateStore, 'load'>,
    private readonly service: string,
    private readonly now: () => number = Date.now,
  ) {}

  async allow(fromCount: number, toCount: number): Promise<void> {
    if (toCount <= fromCount) return;
    const { summary } = await this.store.load();
    const limit = summary?.addLimits?.[this.service];
    const ageMs = summary ? this.now() - summary.atMs : Number.POSITIVE_INFINITY;
    if (!summary || !limit || ageMs > MAX_SUMMARY_AGE_MS) {
      throw new DomainError(
        'UNAVAILABLE',
        undefined,
        `the autoscaler has not committed a tick in the last ${MAX_SUMMARY_AGE_MS / 60_000} minutes, so the budget cannot be checked; capacity is added only when it can`,
      );
    }
    refuseBeyond(limit, fromCount, toCount, summary.budget);
  }
}

/** The refusal, if any, for raising a service from `fromCount` to `toCount` under `limit`. */
export function refuseBeyond(
  limit: AddLimit,
  fromCount: number,
  toCount: number,
  budget: { readonly budgetUsd: number; readonly remainingUsd: number; readonly extraUsd?: number },
): void {
  const n = toCount - fromCount;
  if (toCount > limit.maxCount) {
    throw new DomainError(
      'BUDGET_EXCEEDED',
      'n',
      `adding ${n} would take the service to ${toCount}, above its maxCount of ${limit.maxCount} (now ${fromCount})`,
    );
  }
  if (toCount > limit.budgetCap) {
    const perHour = n * limit.usdPerTaskHour;
    const extra =
      budget.extraUsd === undefined
        ? ''
        : `, ${usd(Math.max(0, budget.extraUsd))} of it beyond the safety margin and the minimum counts to the period's end`;
    throw new DomainError(
      'BUDGET_EXCEEDED',
      'n',
      `adding ${n} would cost ${usd(perHour)} per hour; ${usd(budget.remainingUsd)} is left of the ${usd(budget.budgetUsd)} budget${extra}, which pays for at most ${limit.budgetCap} (now ${fromCount})`,
    );
  }
}

const usd = (x: number) => `${x < 1 ? x.toFixed(4) : x.toFixed(2)} USD`;
