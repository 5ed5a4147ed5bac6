/**
 * `ringmaster`: the real policy module (functions/autoscaler/policy.ts)
 * driven tick by tick, exactly as the Lambda handler will: observations in,
 * persisted state carried to the next tick.
 */
import { refuseBeyond } from '#core/aws/budget-gate.js';
import { usdPerTaskMs } from '../../budget.js';
import { periodBounds } from '../../period.js';
import { type AutoscalerSettings, decide, type PersistedState, type TickDecision } from '../../policy.js';
import { ledgerStartedAt } from '../../state.js';
import { SimulatedCloudWatchHistory } from '../cloudwatch-history.js';
import type { SimConfig } from '../config.js';
import type { PolicyFactory, ReplayOptions } from '../model.js';

export function ringmasterSettings(
  config: SimConfig,
  trace: { rps: Float64Array },
  options: ReplayOptions,
): AutoscalerSettings {
  if (options.budgetUsd === undefined) return config.settings;
  return {
    ...config.settings,
    budgetUsd: options.budgetUsd,
    budgetPeriod: options.budgetPeriod ?? {
      startMs: options.periodStartMs ?? config.epochMs,
      endMs: options.periodEndMs ?? config.epochMs + trace.rps.length * 60_000,
    },
  };
}

/** The ledger as a period's earlier days left it (monthRollover): `spendUsd` spent, the minimum counts set. */
function seededState(settings: AutoscalerSettings, nowMs: number, spendUsd: number): PersistedState {
  const { proxy, servers } = settings.services;
  return ledgerStartedAt(
    periodBounds(settings.budgetPeriod, nowMs),
    nowMs,
    spendUsd,
    {
      proxy: proxy.minCount,
      servers: servers.minCount,
    },
    1,
  );
}

export const ringmaster: PolicyFactory = (trace, config, options) => {
  const settings = ringmasterSettings(config, trace, options);
  const cloudWatch = new SimulatedCloudWatchHistory();
  let state: PersistedState | undefined =
    options.initialSpendUsd === undefined ? undefined : seededState(settings, config.epochMs, options.initialSpendUsd);
  let last: TickDecision | undefined;
  return {
    loseState() {
      state = undefined;
    },
    manualAdd(desired, n) {
      // The admin API's BudgetGate, on what the last tick wrote (core/aws/budget-gate.ts).
      const servers = settings.services.servers;
      if (!last) return desired;
      try {
        refuseBeyond(
          {
            maxCount: servers.maxCount,
            budgetCap: last.budget.hardCaps.servers,
            usdPerTaskHour: usdPerTaskMs(servers, settings) * 3_600_000,
          },
          desired,
          desired + n,
          last.budget,
        );
        return desired + n;
      } catch {
        return desired;
      }
    },
    tick(view) {
      const m = view.metrics;
      const proxyCpu = m
        ? Math.min(100, (100 * m.rps) / Math.max(1, view.proxy.running * config.proxyTaskCapacityRps))
        : undefined;
      const history =
        view.observedRps.length === 0
          ? undefined
          : cloudWatch.read({
              nowMs: view.nowMs,
              rps: view.observedRps,
              firstMinuteMs: config.epochMs + view.observedFirstMinute * 60_000,
            });
      const decision = decide({
        nowMs: view.nowMs,
        settings,
        state,
        loadUnavailable: view.loadUnavailable === true,
        // The services were created when the trace began: a lost state item mid-trace is a lost ledger.
        servicesSinceMs: config.epochMs,
        history: view.loadUnavailable ? undefined : history,
        services: {
          proxy: {
            runningCount: view.proxy.running,
            pendingCount: view.proxy.pending,
            desiredCount: view.proxy.desired,
            metrics: { requestsPerSecond: m?.rps, cpuPercent: proxyCpu, complete: m !== undefined },
            tasks: view.proxyTasks,
          },
          servers: {
            runningCount: view.servers.running,
            pendingCount: view.servers.pending,
            desiredCount: view.servers.desired,
            metrics: {
              requestsPerSecond: m?.rps,
              cpuPercent: m?.cpuPercent,
              p99Ms: m?.p99Ms,
              tasksMeasured: m?.tasksMeasured,
              complete: m !== undefined,
            },
            tasks: view.serverTasks,
          },
        },
      });
      state = decision.nextState;
      last = decision;
      return { servers: decision.services.servers.desiredCount, proxy: decision.services.proxy.desiredCount };
    },
  };
};
