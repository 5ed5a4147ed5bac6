import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import { repoRoot } from '#devkit/repo-root.js';
import { SLO_RATE_OVER_TARGET, settingsFromDeployment } from '#functions/autoscaler/settings-from-deployment.js';
import { defaultSimConfig, deployedSimSettings } from '#functions/autoscaler/sim/config.js';

const root = repoRoot();
const shipped = () =>
  structuredClone(
    (
      JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as {
        context: {
          ringmaster: Record<string, unknown> & {
            autoscaler: Record<string, unknown>;
            servers: Record<string, unknown>;
          };
        };
      }
    ).context.ringmaster,
  );

describe('one configuration: the bench runs the deployed settings', () => {
  it('takes every policy setting from cdk.json through settingsFromDeployment', () => {
    const deployed = settingsFromDeployment(parseDeploymentConfig(shipped()));
    const sim = defaultSimConfig().settings;
    for (const key of [
      'p99SloMs',
      'tolerance',
      'scaleOutFactor',
      'scaleOutStep',
      'scaleInWindowMinutes',
      'scaleInAfterScaleOutMinutes',
      'taskStartMinutes',
      'tickMinutes',
      'budgetSafetyMargin',
      'failsafeAfterMinutes',
      'deploySurgeFactor',
      'fargateRates',
    ] as const) {
      expect(sim[key], key).toEqual(deployed[key]);
    }
    // The ration's SLO rate is the deployed default, not a number of the simulator's own.
    expect(sim.services.servers.sloRequestsPerTaskPerSecond).toBeCloseTo(
      sim.services.servers.targetRequestsPerTaskPerSecond * SLO_RATE_OVER_TARGET,
      9,
    );
    expect(deployed.services.servers.sloRequestsPerTaskPerSecond).toBeCloseTo(
      deployed.services.servers.targetRequestsPerTaskPerSecond * SLO_RATE_OVER_TARGET,
      9,
    );
  });

  it('follows a change in cdk.json', () => {
    const context = shipped();
    context.autoscaler.tolerance = 0.2;
    context.autoscaler.budgetSafetyMarginPercent = 3;
    const sim = deployedSimSettings(context);
    expect(sim.tolerance).toBe(0.2);
    expect(sim.budgetSafetyMargin).toBeCloseTo(0.03, 12);
  });

  it('sloRequestsPerTaskPerSecond is an optional cdk.json key, never below the target', () => {
    const context = shipped();
    context.servers.sloRequestsPerTaskPerSecond = 700;
    expect(settingsFromDeployment(parseDeploymentConfig(context)).services.servers.sloRequestsPerTaskPerSecond).toBe(
      700,
    );
    context.servers.sloRequestsPerTaskPerSecond = 100;
    expect(() => parseDeploymentConfig(context)).toThrow(
      /ringmaster\.servers\.sloRequestsPerTaskPerSecond: must not be below servers\.targetRequestsPerTaskPerSecond/,
    );
  });

  it('failsafeAfterMinutes must be at least two ticks', () => {
    const context = shipped();
    context.autoscaler.scheduleMinutes = 5;
    context.autoscaler.failsafeAfterMinutes = 8;
    expect(() => parseDeploymentConfig(context)).toThrow(
      /ringmaster\.autoscaler\.failsafeAfterMinutes: must be at least two ticks \(10 minutes at scheduleMinutes 5\)/,
    );
  });
});
