/**
 * What the policy is told about the deployment. The handler maps the
 * deployment config onto AutoscalerSettings once per cold start (through
 * parseSettings, so a bad setting fails there and not mid-tick); decide()
 * trusts what it is given.
 */

import { DEPLOY_MAX_HEALTHY_PERCENT } from '#core/config/deployment.js';
import {
  type CpuArchitecture,
  DEFAULT_FARGATE_RATES,
  type FargateRates,
  type TaskSize,
} from '#core/pricing/fargate.js';
import { SERVICES, type ServiceName } from '#core/telemetry/metric-names.js';

/** The tiers in the order the budget serves them: the proxy keeps its minimum before the servers grow. */
export const SERVICE_ORDER: readonly ServiceName[] = [SERVICES.proxy, SERVICES.servers];

export interface ServiceSettings {
  /** Never fewer tasks than this, whatever the budget (config validation refuses a budget that cannot pay it). */
  readonly minCount: number;
  readonly maxCount: number;
  /** Requests per second one task should carry: the request signal's target. */
  readonly targetRequestsPerTaskPerSecond: number;
  /**
   * Requests per second at which one task starts to miss the SLO (above the
   * target, which keeps headroom). When the budget binds, the ration funds
   * every minute up to this rate before it buys any headroom, since headroom
   * saves no request while other minutes are over the line.
   * @default targetRequestsPerTaskPerSecond (no headroom layer)
   */
  readonly sloRequestsPerTaskPerSecond?: number | undefined;
  /** Average ECS CPU utilisation to hold, in percent. */
  readonly targetCpuPercent: number;
  /** What one task costs: cpu units, memory and architecture, priced by core/pricing/fargate.ts. */
  readonly task: TaskSize;
  /**
   * Dollars per task-hour beyond Fargate's vCPU and memory, such as the task's
   * public IPv4 address when tasks sit in public subnets.
   * @default 0
   */
  readonly perTaskAddOnUsdPerHour?: number | undefined;
}

/** A UTC calendar period (weeks start on Monday), or an explicit window (the simulator's budget period is its trace). */
export type BudgetPeriod = 'day' | 'week' | 'month' | { readonly startMs: number; readonly endMs: number };

export interface AutoscalerSettings {
  readonly services: Readonly<Record<ServiceName, ServiceSettings>>;
  /** p99 response time the proxy should stay under, in ms: the latency signal's target. */
  readonly p99SloMs: number;
  /** No change while the highest signal is within ±tolerance of its target. @default 0.1 */
  readonly tolerance: number;
  /** One scale-out reaches at most capacity × scaleOutFactor + scaleOutStep. @default 2 */
  readonly scaleOutFactor: number;
  /** @default 4 */
  readonly scaleOutStep: number;
  /** Scale in only to the highest recommendation of this many minutes. @default 5 */
  readonly scaleInWindowMinutes: number;
  /** No scale-in this many minutes after a scale-out. @default 5 */
  readonly scaleInAfterScaleOutMinutes: number;
  /** Time from UpdateService to a task serving: how far ahead the forecast looks. @default 1 */
  readonly taskStartMinutes: number;
  /** Minutes between ticks (the EventBridge schedule). @default 1 */
  readonly tickMinutes: number;
  /** Dollars per budget period, both tiers plus overhead. Infinity disables the budget (simulator only). */
  readonly budgetUsd: number;
  /**
   * Share of the budget the caps keep unspent (0.01 is 1%): room for what the
   * ledger cannot see exactly (price rounding, a task's last seconds between
   * two ECS reads), so that a small under-count is not an overspend.
   * @default 0.01
   */
  readonly budgetSafetyMargin: number;
  /**
   * Minutes without a committed tick after which the failsafe takes both
   * tiers to their minimum (infra/constructs/autoscaler-failsafe.ts). The
   * hard cap pays the counts it allows for this long, plus the alarm's own
   * delay, so that the budget holds while no tick runs. @default 10
   */
  readonly failsafeAfterMinutes: number;
  /**
   * How many times its count a service may run while ECS replaces its tasks
   * in a deployment: the services' maxHealthyPercent / 100
   * (DEPLOY_MAX_HEALTHY_PERCENT). The hard cap reserves this surge.
   * @default DEPLOY_MAX_HEALTHY_PERCENT / 100 (2)
   */
  readonly deploySurgeFactor: number;
  readonly budgetPeriod: BudgetPeriod;
  /** Load balancer, Lambda, CloudWatch and DynamoDB, charged to the ledger by the hour. @default 0 */
  readonly fixedOverheadUsdPerHour: number;
  /** @default DEFAULT_FARGATE_RATES (us-east-1 list prices) */
  readonly fargateRates: Readonly<Record<CpuArchitecture, FargateRates>>;
}

/** The settings with documented defaults; the rest come from the deployment config. */
export const POLICY_DEFAULTS = Object.freeze({
  tolerance: 0.1,
  scaleOutFactor: 2,
  scaleOutStep: 4,
  scaleInWindowMinutes: 5,
  scaleInAfterScaleOutMinutes: 5,
  taskStartMinutes: 1,
  tickMinutes: 1,
  fixedOverheadUsdPerHour: 0,
  fargateRates: DEFAULT_FARGATE_RATES,
  budgetSafetyMargin: 0.01,
  failsafeAfterMinutes: 10,
  deploySurgeFactor: DEPLOY_MAX_HEALTHY_PERCENT / 100,
});

export type SettingsInput = Omit<AutoscalerSettings, keyof typeof POLICY_DEFAULTS> &
  Partial<Pick<AutoscalerSettings, keyof typeof POLICY_DEFAULTS>>;

/** Fills the defaults without validating (tests and the simulator build settings in code). */
export function withDefaults(input: SettingsInput): AutoscalerSettings {
  return { ...POLICY_DEFAULTS, ...input };
}
