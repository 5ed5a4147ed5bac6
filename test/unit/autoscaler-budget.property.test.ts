import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, minimumSpendForPeriod, type PersistedState, withDefaults } from '#functions/autoscaler/policy.js';
import { defaultSimConfig } from '#functions/autoscaler/sim/config.js';
import { replay } from '#functions/autoscaler/sim/model.js';
import { ringmaster } from '#functions/autoscaler/sim/policies/ringmaster.js';
import type { Trace } from '#functions/autoscaler/sim/trace.js';

const MINUTES = 180;
const config = defaultSimConfig();
const periodMs = MINUTES * 60_000;
const period = { startMs: config.epochMs, endMs: config.epochMs + periodMs };
const minimum = minimumSpendForPeriod({ ...config.settings, budgetPeriod: period });

/** Any load: quiet, steady, bursts, zeros, up to 300x a task's capacity. */
const loadArb = fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 30_000, noNaN: true })), {
  minLength: MINUTES,
  maxLength: MINUTES,
});

describe('autoscaler budget properties', () => {
  it('spend never passes the budget, whatever the load', () => {
    fc.assert(
      fc.property(
        loadArb,
        fc.double({ min: 1, max: 20, noNaN: true }),
        // No history, two days (the daily model), or two weeks (the weekly one the Lambda reads).
        fc.constantFrom(0, 2, 14),
        (load, budgetOverMinimum, historyDays) => {
          const trace: Trace = {
            name: 'arbitrary',
            rps: Float64Array.from(load),
            scoreFromMinute: 0,
            steps: [],
            ...(historyDays > 0
              ? { priorRps: Float64Array.from({ length: historyDays * 1_440 }, (_, i) => load[i % MINUTES] ?? 0) }
              : {}),
          };
          const budgetUsd = minimum * budgetOverMinimum;
          const result = replay(trace, ringmaster, config, {
            budgetUsd,
            periodStartMs: period.startMs,
            periodEndMs: period.endMs,
          });
          const spent = result.dollars.reduce((a, b) => a + b, 0);
          expect(spent).toBeLessThanOrEqual(budgetUsd * (1 + 1e-12));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('no scale-in on missing or partial data', () => {
    const settings = withDefaults({ ...config.settings });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 250 }),
        fc.integer({ min: 0, max: 20 }),
        fc.option(fc.double({ min: 0, max: 50_000, noNaN: true }), { nil: undefined }),
        fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 6 }),
        (desired, pending, rps, cpu, partial, earlier) => {
          // Earlier recommendations in the window must not lower the count either.
          const state: PersistedState | undefined =
            earlier.length === 0
              ? undefined
              : {
                  format: 1,
                  version: 3,
                  periodStartMs: config.epochMs,
                  periodEndMs: config.epochMs + 86_400_000,
                  spendUsd: 0,
                  lastTickMs: config.epochMs + 600_000 - 60_000,
                  services: {
                    proxy: { lastDesired: 2, lastBillable: 2, recentRecommendations: [], lastScaleOutMs: null },
                    servers: {
                      lastDesired: desired,
                      lastBillable: desired,
                      recentRecommendations: earlier.map((count, i) => ({
                        atMs: config.epochMs + 600_000 - (i + 1) * 60_000,
                        count,
                      })),
                      lastScaleOutMs: null,
                    },
                  },
                };
          const decision = decide({
            nowMs: config.epochMs + 600_000,
            settings,
            state,
            services: {
              proxy: {
                runningCount: 2,
                pendingCount: 0,
                desiredCount: 2,
                metrics: { complete: true, requestsPerSecond: 1 },
              },
              servers: {
                runningCount: Math.max(0, desired - pending),
                pendingCount: Math.min(desired, pending),
                desiredCount: desired,
                // Either a datapoint is missing, or the minute is marked partial.
                metrics:
                  partial || (rps === undefined && cpu === undefined)
                    ? { requestsPerSecond: rps, cpuPercent: cpu, complete: false }
                    : { requestsPerSecond: undefined, cpuPercent: undefined, complete: true },
              },
            },
          });
          const { minCount, maxCount } = settings.services.servers;
          const floor = Math.min(maxCount, Math.max(minCount, desired));
          expect(decision.services.servers.desiredCount).toBeGreaterThanOrEqual(floor);
        },
      ),
      { numRuns: 300 },
    );
  });
});
