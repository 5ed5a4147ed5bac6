import type { DeploymentConfig } from '#core/config/deployment.js';
import { perTaskAddOnUsdPerHour } from '#core/pricing/deployment-cost.js';
import { type AutoscalerSettings, type ServiceSettings, withDefaults } from './settings.js';

type Tier = DeploymentConfig['proxy'] | DeploymentConfig['servers'];

/**
 * A tier's SLO rate when cdk.json gives none: the target is taken to be 75%
 * of the rate at which a task misses the SLO (the simulator's model: 60%
 * utilisation targeted, 80% the SLO line). It gives the budget's ration its
 * two layers (every minute up to the SLO line first, headroom after).
 */
export const SLO_RATE_OVER_TARGET = 4 / 3;

/**
 * The policy's settings from the deployment config the CDK app validated
 * (and the Lambda validated again at cold start), so cdk.json is the one
 * place every number comes from.
 */
export function settingsFromDeployment(config: DeploymentConfig): AutoscalerSettings {
  const a = config.autoscaler;
  return withDefaults({
    services: {
      proxy: tierSettings(config.proxy, config.natGateways),
      servers: tierSettings(config.servers, config.natGateways),
    },
    p99SloMs: a.p99SloMs,
    tolerance: a.tolerance,
    scaleOutFactor: a.scaleOutFactor,
    scaleOutStep: a.scaleOutStep,
    scaleInWindowMinutes: a.scaleInWindowMinutes,
    scaleInAfterScaleOutMinutes: a.scaleInAfterScaleOutMinutes,
    taskStartMinutes: a.taskStartMinutes,
    tickMinutes: a.scheduleMinutes,
    budgetUsd: a.budgetUsd,
    budgetPeriod: a.budgetPeriod,
    fixedOverheadUsdPerHour: a.fixedOverheadUsdPerHour,
    budgetSafetyMargin: a.budgetSafetyMarginPercent / 100,
    failsafeAfterMinutes: a.failsafeAfterMinutes,
    fargateRates: { arm64: config.pricing.arm64, x86_64: config.pricing.x86_64 },
  });
}

function tierSettings(tier: Tier, natGateways: number): ServiceSettings {
  return {
    perTaskAddOnUsdPerHour: perTaskAddOnUsdPerHour(natGateways),
    minCount: tier.minCount,
    maxCount: tier.maxCount,
    targetRequestsPerTaskPerSecond: tier.targetRequestsPerTaskPerSecond,
    sloRequestsPerTaskPerSecond:
      tier.sloRequestsPerTaskPerSecond ?? tier.targetRequestsPerTaskPerSecond * SLO_RATE_OVER_TARGET,
    targetCpuPercent: tier.targetCpuPercent,
    task: { cpu: tier.cpu, memoryMiB: tier.memoryMiB, architecture: tier.architecture },
  };
}
