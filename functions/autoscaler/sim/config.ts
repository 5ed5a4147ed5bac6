/**
 * The modelled service: one tier (the servers) sized by the policy under
 * test, with the proxy tier held at its minimum and billed, plus a fixed
 * overhead. Every policy shares these numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import type { AutoscalerSettings } from '../policy.js';
import { settingsFromDeployment } from '../settings-from-deployment.js';

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

/**
 * The simulator's settings come from cdk.json through the path the Lambda
 * uses (parseDeploymentConfig, then settingsFromDeployment), so every policy
 * setting the bench scores (tolerance, scale-out limits, windows, the SLO
 * rate's default, the safety margin, the failsafe's look-ahead, prices) is
 * the deployed one. Only the modelled fleet replaces cdk.json's, and stays a
 * config the schema accepts: the servers are 0.5 vCPU / 1 GiB x86 tasks
 * serving TASK_CAPACITY_RPS each (2..200, target 60% of that), the proxy sits
 * at 2 small tasks, the tasks have no public address (natGateways 1: the
 * model bills Fargate alone) and the overhead is 0.03 USD an hour.
 */
export function deployedSimSettings(cdkContext: unknown = readCdkContext()): AutoscalerSettings {
  const shipped = cdkContext as Record<string, Record<string, unknown>>;
  const config = parseDeploymentConfig({
    ...shipped,
    proxy: {
      ...shipped.proxy,
      minCount: 2,
      desiredCount: 2,
      maxCount: 2,
      cpu: 256,
      memoryMiB: 512,
      architecture: 'x86_64',
      targetRequestsPerTaskPerSecond: PROXY_TASK_CAPACITY_RPS * TARGET_UTILIZATION,
      targetCpuPercent: TARGET_UTILIZATION * 100,
    },
    servers: {
      ...shipped.servers,
      minCount: 2,
      initialCount: 2,
      maxCount: 200,
      cpu: 512,
      memoryMiB: 1024,
      architecture: 'x86_64',
      targetRequestsPerTaskPerSecond: TASK_CAPACITY_RPS * TARGET_UTILIZATION,
      targetCpuPercent: TARGET_UTILIZATION * 100,
    },
    autoscaler: { ...shipped.autoscaler, fixedOverheadUsdPerHour: 0.03 },
    natGateways: 1,
  });
  return settingsFromDeployment(config);
}

/** cdk.json's `ringmaster` context, found from this file up (the source tree or dist/). */
function readCdkContext(): unknown {
  let dir = import.meta.dirname;
  for (;;) {
    const file = join(dir, 'cdk.json');
    if (existsSync(file)) {
      return (JSON.parse(readFileSync(file, 'utf8')) as { context: { ringmaster: unknown } }).context.ringmaster;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no cdk.json above ${import.meta.dirname}`);
    dir = parent;
  }
}

let deployed: AutoscalerSettings | undefined;

export function defaultSimConfig(overrides: Partial<AutoscalerSettings> = {}): SimConfig {
  deployed ??= deployedSimSettings();
  return {
    taskCapacityRps: TASK_CAPACITY_RPS,
    proxyTaskCapacityRps: PROXY_TASK_CAPACITY_RPS,
    sloUtilization: SLO_UTILIZATION,
    metricDelayMinutes: METRIC_DELAY_MINUTES,
    taskStartMinutes: TASK_START_MINUTES,
    epochMs: EPOCH_MS,
    settings: {
      ...deployed,
      // The replays set each budget and period themselves (unbudgeted, a whole trace, or a UTC day).
      budgetUsd: Number.POSITIVE_INFINITY,
      budgetPeriod: 'day',
      ...overrides,
    },
  };
}

/** The p99 a task fleet shows at this utilisation. */
export function p99At(utilization: number): number {
  return utilization >= 1 ? SATURATED_P99_MS : Math.min(SATURATED_P99_MS, BASE_P99_MS / (1 - utilization));
}
