/**
 * The modelled service: one tier (the servers) sized by the policy under
 * test, with the proxy tier held at its minimum and billed, plus a fixed
 * overhead. Every policy shares these numbers.
 */
import { type AutoscalerSettings, withDefaults } from '#functions/autoscaler/policy.js';

/** Requests per second one server task serves at 100% utilisation. */
export const TASK_CAPACITY_RPS = 100;
/** A proxy task's capacity (only used for its CPU metric: the proxy stays at its minimum). */
export const PROXY_TASK_CAPACITY_RPS = 1_000;
/** Utilisation above this is an SLO violation. */
export const SLO_UTILIZATION = 0.8;
/** What every target-based policy aims for: a common ECS/HPA choice, leaving headroom under the SLO line. */
export const TARGET_UTILIZATION = 0.6;
/** A minute's metrics are readable one minute after it ends. */
export const METRIC_DELAY_MINUTES = 1;
/** Tasks serve this long after they are asked for. */
export const TASK_START_MINUTES = 1;
/** Minute 0 of every trace: a Monday, 00:00 UTC, so trace days are UTC days. */
export const EPOCH_MS = Date.UTC(2026, 0, 5);
/** p99 at zero load, and the SLO the latency signal targets (p99 = base / (1 - utilisation)). */
export const BASE_P99_MS = 25;
export const P99_SLO_MS = 250;
/** Past saturation the queue grows without bound; the model reports this. */
export const SATURATED_P99_MS = 5_000;

export interface SimConfig {
  readonly taskCapacityRps: number;
  readonly proxyTaskCapacityRps: number;
  readonly sloUtilization: number;
  readonly metricDelayMinutes: number;
  readonly taskStartMinutes: number;
  readonly epochMs: number;
  /** Ringmaster's settings; the peers take min/max counts, the request target and prices from them. */
  readonly settings: AutoscalerSettings;
}

export function defaultSimConfig(overrides: Partial<AutoscalerSettings> = {}): SimConfig {
  return {
    taskCapacityRps: TASK_CAPACITY_RPS,
    proxyTaskCapacityRps: PROXY_TASK_CAPACITY_RPS,
    sloUtilization: SLO_UTILIZATION,
    metricDelayMinutes: METRIC_DELAY_MINUTES,
    taskStartMinutes: TASK_START_MINUTES,
    epochMs: EPOCH_MS,
    settings: withDefaults({
      services: {
        // The proxy tier at its minimum: min = max.
        proxy: {
          minCount: 2,
          maxCount: 2,
          targetRequestsPerTaskPerSecond: PROXY_TASK_CAPACITY_RPS * TARGET_UTILIZATION,
          sloRequestsPerTaskPerSecond: PROXY_TASK_CAPACITY_RPS * SLO_UTILIZATION,
          targetCpuPercent: TARGET_UTILIZATION * 100,
          task: { cpu: 256, memoryMiB: 512, architecture: 'x86_64' },
        },
        servers: {
          minCount: 2,
          maxCount: 200,
          targetRequestsPerTaskPerSecond: TASK_CAPACITY_RPS * TARGET_UTILIZATION,
          sloRequestsPerTaskPerSecond: TASK_CAPACITY_RPS * SLO_UTILIZATION,
          targetCpuPercent: TARGET_UTILIZATION * 100,
          task: { cpu: 512, memoryMiB: 1024, architecture: 'x86_64' },
        },
      },
      p99SloMs: P99_SLO_MS,
      budgetUsd: Number.POSITIVE_INFINITY,
      budgetPeriod: 'day',
      taskStartMinutes: TASK_START_MINUTES,
      // An ALB's hourly charge plus a little Lambda, CloudWatch and DynamoDB.
      fixedOverheadUsdPerHour: 0.03,
      ...overrides,
    }),
  };
}

/** The p99 a task fleet shows at this utilisation. */
export function p99At(utilization: number): number {
  return utilization >= 1 ? SATURATED_P99_MS : Math.min(SATURATED_P99_MS, BASE_P99_MS / (1 - utilization));
}
