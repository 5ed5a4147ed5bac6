import { describe, expect, it } from 'vitest';
import { minimumBudgetUsd, parseDeploymentConfig } from '#core/config/deployment.js';
import { AWS_LIST_PRICES } from '#core/pricing/deployment-cost.js';
import { taskHourlyUsd } from '#core/pricing/fargate.js';
import { decide, minimumSpendForPeriod } from '#functions/autoscaler/policy.js';
import { settingsFromDeployment } from '#functions/autoscaler/settings-from-deployment.js';
import { shippedConfig } from '../infra/synth.js';

const HOUR_MS = 3_600_000;

describe('autoscaler settings from cdk.json', () => {
  it('carries every number from the deployment config, and what each task costs beyond Fargate', () => {
    const config = parseDeploymentConfig(shippedConfig());
    const settings = settingsFromDeployment(config);
    expect(settings.budgetUsd).toBe(config.autoscaler.budgetUsd);
    expect(settings.budgetPeriod).toBe(config.autoscaler.budgetPeriod);
    expect(settings.tickMinutes).toBe(config.autoscaler.scheduleMinutes);
    expect(settings.services.servers).toMatchObject({
      minCount: config.servers.minCount,
      maxCount: config.servers.maxCount,
      targetRequestsPerTaskPerSecond: config.servers.targetRequestsPerTaskPerSecond,
      task: { cpu: config.servers.cpu, memoryMiB: config.servers.memoryMiB, architecture: config.servers.architecture },
    });
    // No NAT gateway: every task has a public IPv4 address, billed by the hour.
    expect(config.natGateways).toBe(0);
    expect(settings.services.servers.perTaskAddOnUsdPerHour).toBe(AWS_LIST_PRICES.publicIpv4HourUsd);
    const withNat = settingsFromDeployment({ ...config, natGateways: 1 });
    expect(withNat.services.servers.perTaskAddOnUsdPerHour).toBe(0);
  });

  it('the ledger bills the add-on with every task-hour, and the budget floor counts it the same way', () => {
    const config = parseDeploymentConfig(shippedConfig());
    const settings = settingsFromDeployment(config);
    const services = {
      proxy: { runningCount: 2, pendingCount: 0, desiredCount: 2, metrics: { complete: false } },
      servers: { runningCount: 2, pendingCount: 0, desiredCount: 2, metrics: { complete: false } },
    };
    const start = Date.UTC(2026, 10, 10, 0, 0);
    const first = decide({ nowMs: start, services, settings });
    const hourLater = decide({ nowMs: start + HOUR_MS, services, state: first.nextState, settings });
    const perHour = (t: typeof config.proxy | typeof config.servers) =>
      taskHourlyUsd(t, config.pricing) + AWS_LIST_PRICES.publicIpv4HourUsd;
    const expected =
      2 * perHour(config.proxy) + 2 * perHour(config.servers) + config.autoscaler.fixedOverheadUsdPerHour;
    expect(hourLater.nextState.spendUsd - first.nextState.spendUsd).toBeCloseTo(expected, 9);
    // The schema's floor (synth) and the policy's agree.
    expect(minimumSpendForPeriod(settings)).toBeCloseTo(minimumBudgetUsd(config), 6);
  });
});
