import type { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import type { ServiceName } from '#core/telemetry/metric-names.js';
import { minimumSpendForPeriod, spendableUsd } from '#functions/autoscaler/budget.js';
import { longestPeriodMs, periodBounds } from '#functions/autoscaler/period.js';
import type { AutoscalerSettings } from '#functions/autoscaler/settings.js';
import { ledgerStartedAt } from '#functions/autoscaler/state.js';

/**
 * Starts the current budget period's ledger at `spentUsd`, as if the period
 * so far had cost that much (RINGMASTER_SPENT_USD). A budget must pay the
 * minimum counts for a whole period, so part-way through a period even the
 * smallest budget leaves room; starting the ledger near the budget shows the
 * cap at work at once. The item is written as the autoscaler writes it (one
 * conditional commit), with the services at the counts this run starts at.
 */
export async function startLedgerAt(
  store: AutoscalerStateStore,
  settings: AutoscalerSettings,
  spentUsd: number,
  counts: Readonly<Record<ServiceName, number>>,
  nowMs: number,
): Promise<void> {
  if (spentUsd >= settings.budgetUsd) {
    throw new RangeError(
      `RINGMASTER_SPENT_USD: must be less than the budget (${settings.budgetUsd} USD), got ${spentUsd}`,
    );
  }
  const stored = await store.load();
  const period = periodBounds(settings.budgetPeriod, nowMs);
  const state = ledgerStartedAt(period, nowMs, spentUsd, counts, stored.version + 1);
  await store.commit(stored.version, state, stored.decisions, []);
}

/**
 * The spend that leaves `leftUsd` beyond the safety margin and what the
 * minimum counts and the overhead cost from `nowMs` to the period's end
 * (RINGMASTER_LEFT_USD): a ledger started there shows the budget's cap at
 * work at any time of the period, rather than the below-minimum state a
 * spend near the whole budget gives.
 */
export function spentLeaving(settings: AutoscalerSettings, leftUsd: number, nowMs: number): number {
  const period = periodBounds(settings.budgetPeriod, nowMs);
  const minimumPerMs = minimumSpendForPeriod(settings) / longestPeriodMs(settings.budgetPeriod);
  const minimumToEnd = minimumPerMs * (period.endMs - nowMs);
  return Math.max(0, spendableUsd(settings) - minimumToEnd - leftUsd);
}
