/** What a tick decides: per service the count and why, the budget's view, and the state to persist. */
import type { ServiceName } from '#core/telemetry/metric-names.js';
import type { PersistedState } from './state.js';

/** Each rule that moved the count away from what the load alone asked for, in the order applied. */
export type ClampKind =
  | 'tolerance'
  | 'scaleOutLimit'
  | 'scaleInWindow'
  | 'scaleInAfterScaleOut'
  | 'missingData'
  | 'minCount'
  | 'maxCount'
  | 'budgetHardCap'
  | 'budgetRation'
  | 'loadUnavailable';

export interface Clamp {
  readonly kind: ClampKind;
  readonly from: number;
  readonly to: number;
}

/** Tasks each signal asks for (fractional, before rounding); undefined where the signal was missing. */
export interface SignalNeeds {
  readonly requests?: number | undefined;
  readonly cpu?: number | undefined;
  readonly p99?: number | undefined;
  readonly forecast?: number | undefined;
}

export interface ServiceDecision {
  /** The count ECS had (max of its desired and running + pending): capacity on the way. */
  readonly capacity: number;
  /** What the load asks for: highest signal, tolerance, min/max. Kept for scale-in stabilisation. */
  readonly recommendation: number;
  /** The count to set; call UpdateService only when `changed`. */
  readonly desiredCount: number;
  readonly changed: boolean;
  readonly needs: SignalNeeds;
  readonly clamps: readonly Clamp[];
  /** The budget held this service below what the load and the other rules asked for (metric BudgetLimited). */
  readonly budgetLimited: boolean;
  /** One line for the log, e.g. `servers 8 -> 12: requests need 11.3 tasks; scale-out limited to 12`. */
  readonly reason: string;
}

export interface BudgetStatus {
  readonly budgetUsd: number;
  readonly spendUsd: number;
  readonly remainingUsd: number;
  /** Spend at period end if this tick's counts held (metric ProjectedSpendUsd). */
  readonly projectedSpendUsd: number;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  /** The money cannot even pay the minimum counts to the period's end: counts stay at their minimum. */
  readonly belowMinimum: boolean;
  /** Dollars left beyond the safety margin, the overhead and the minimum counts to the period's end. */
  readonly extraUsd: number;
  /** Per service, the highest count the hard cap allows now (within maxCount): /add's limit. */
  readonly hardCaps: Readonly<Record<ServiceName, number>>;
}

export interface TickDecision {
  readonly services: Readonly<Record<ServiceName, ServiceDecision>>;
  readonly budget: BudgetStatus;
  /** Write with a condition on the version read; version is one more. */
  readonly nextState: PersistedState;
}
