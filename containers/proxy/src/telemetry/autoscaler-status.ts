/**
 * The autoscaler's part of the snapshot: its last committed tick, read from
 * its state item (AUTOSCALER_STATE_TABLE). A proxy not given the table
 * leaves this out, and the page says "autoscaler not configured" rather
 * than show made-up numbers.
 */
export interface AutoscalerStatus {
  readonly services: readonly {
    readonly name: string;
    readonly desired: number;
    readonly running: number;
    readonly pending: number;
  }[];
  /** Most recent first. */
  readonly decisions: readonly {
    /** Epoch ms. */
    readonly at: number;
    readonly service: string;
    readonly from: number;
    readonly to: number;
    readonly reason: string;
    /** True when the budget, not demand, set `to`. */
    readonly budgetLimited: boolean;
  }[];
  readonly budget: {
    readonly budgetUsd: number;
    readonly spendUsd: number;
    readonly remainingUsd: number;
    readonly projectedSpendUsd: number;
  };
}
