import { describe, expect, it } from 'vitest';
import {
  type AutoscalerSettings,
  decide,
  minimumSpendForPeriod,
  parseState,
  type ServiceObservation,
  STATE_FORMAT,
  type TickInputs,
  withDefaults,
} from '#functions/autoscaler/policy.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Tuesday 2026-01-06 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 6);
const TASK = { cpu: 512, memoryMiB: 1024, architecture: 'x86_64' } as const;

function settings(overrides: Partial<AutoscalerSettings> = {}): AutoscalerSettings {
  return withDefaults({
    services: {
      proxy: { minCount: 2, maxCount: 4, targetRequestsPerTaskPerSecond: 600, targetCpuPercent: 60, task: TASK },
      servers: { minCount: 2, maxCount: 100, targetRequestsPerTaskPerSecond: 60, targetCpuPercent: 60, task: TASK },
    },
    p99SloMs: 250,
    budgetUsd: Number.POSITIVE_INFINITY,
    budgetPeriod: 'day',
    ...overrides,
  });
}

const blind = (count: number): ServiceObservation => ({
  runningCount: count,
  pendingCount: 0,
  desiredCount: count,
  metrics: { complete: false },
});

/** A steady busy history: the forecast alone would ask for ~50 servers. */
const busyHistory = {
  bucketMinutes: 5,
  startMs: T0 + 10 * HOUR - 48 * HOUR,
  requestsPerSecond: new Float64Array(576).fill(3_000),
};

function inputs(servers: number, extra: Partial<TickInputs> = {}): TickInputs {
  return {
    nowMs: T0 + 10 * HOUR,
    settings: settings(),
    services: { proxy: blind(2), servers: blind(servers) },
    ...extra,
  };
}

describe('the policy fails closed', () => {
  it('with the load unreadable, never raises a count, even when a forecast would', () => {
    const withForecast = decide(inputs(10, { history: busyHistory }));
    expect(withForecast.services.servers.desiredCount).toBeGreaterThan(10);
    const blindTick = decide(inputs(10, { history: busyHistory, loadUnavailable: true }));
    expect(blindTick.services.servers.desiredCount).toBe(10);
    expect(blindTick.services.servers.clamps.at(-1)?.kind).toBe('loadUnavailable');
  });

  it('with the load unreadable, still bills the interval and applies the cap', () => {
    const s = settings({ budgetUsd: minimumSpendForPeriod(settings()) * 1.2 });
    const first = decide(inputs(10, { settings: s, loadUnavailable: true }));
    const spent = { ...first.nextState, spendUsd: s.budgetUsd * 0.999 };
    const later = decide(
      inputs(10, { settings: s, state: spent, nowMs: T0 + 10 * HOUR + MINUTE, loadUnavailable: true }),
    );
    expect(later.budget.spendUsd).toBeGreaterThan(spent.spendUsd);
    expect(later.services.servers.desiredCount).toBe(2);
    expect(later.services.servers.budgetLimited).toBe(true);
  });

  it('flags BelowMinimum when the money left cannot pay the minimum counts to the period end', () => {
    const s = settings({ budgetUsd: minimumSpendForPeriod(settings()) * 1.2 });
    const first = decide(inputs(2, { settings: s }));
    expect(first.budget.belowMinimum).toBe(false);
    const broke = { ...first.nextState, spendUsd: s.budgetUsd * 0.9 };
    const later = decide(inputs(6, { settings: s, state: broke, nowMs: T0 + 10 * HOUR + MINUTE }));
    expect(later.budget.belowMinimum).toBe(true);
    expect(later.services.servers.desiredCount).toBe(2);
    expect(later.services.proxy.desiredCount).toBe(2);
  });

  it('names a state item of a newer format instead of guessing at it', () => {
    expect(() => parseState({ format: STATE_FORMAT + 1 })).toThrow(/format: 2 was written by a newer autoscaler/);
    expect(() => parseState({ format: STATE_FORMAT, spendUsd: -1 })).toThrow(/persisted autoscaler state/);
  });
});
