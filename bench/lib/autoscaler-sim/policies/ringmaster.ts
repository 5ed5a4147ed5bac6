/**
 * `ringmaster`: the real policy module (functions/autoscaler/policy.ts)
 * driven tick by tick, exactly as the Lambda handler will: observations in,
 * persisted state carried to the next tick.
 */
import { refuseBeyond } from '#core/aws/budget-gate.js';
import { usdPerTaskMs } from '#functions/autoscaler/budget.js';
import { periodBounds } from '#functions/autoscaler/period.js';
import {
  type AutoscalerSettings,
  decide,
  type PersistedState,
  type RequestRateHistory,
  STATE_FORMAT,
  type TickDecision,
} from '#functions/autoscaler/policy.js';
import type { SimConfig } from '../config.js';
import type { PolicyFactory, ReplayOptions, TickView } from '../model.js';
import { MINUTES_PER_DAY } from '../trace.js';

/** History handed to each tick: the two seasonal days plus the level window, with room to spare. */
const HISTORY_MINUTES = 2 * MINUTES_PER_DAY + 120;

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
  const period = periodBounds(settings.budgetPeriod, nowMs);
  const service = (count: number) => ({
    lastDesired: count,
    lastBillable: count,
    recentRecommendations: [],
    lastScaleOutMs: null,
  });
  return {
    format: STATE_FORMAT,
    version: 1,
    periodStartMs: period.startMs,
    periodEndMs: period.endMs,
    spendUsd,
    lastTickMs: nowMs,
    services: {
      proxy: service(settings.services.proxy.minCount),
      servers: service(settings.services.servers.minCount),
    },
  };
}

function historyOf(view: TickView, epochMs: number): RequestRateHistory {
  const from = Math.max(0, view.observedRps.length - HISTORY_MINUTES);
  return {
    bucketMinutes: 1,
    startMs: epochMs + (view.observedFirstMinute + from) * 60_000,
    requestsPerSecond: view.observedRps.subarray(from),
  };
}

/**
 * The same history in 5-minute buckets (CloudWatch's other standard period),
 * kept up to date as minutes become readable; complete buckets only.
 */
function fiveMinuteHistory(epochMs: number) {
  const BUCKET = 5;
  let sums = new Float64Array(0);
  let folded = 0;
  let firstMinute = 0;
  return (view: TickView): RequestRateHistory => {
    if (sums.length === 0) {
      firstMinute = view.observedFirstMinute;
      sums = new Float64Array(Math.ceil((view.observedRps.length + 4 * 24 * 60) / BUCKET) + 1);
    }
    for (; folded < view.observedRps.length; folded++) {
      const bucket = Math.floor(folded / BUCKET);
      if (bucket >= sums.length) {
        const grown = new Float64Array(sums.length * 2);
        grown.set(sums);
        sums = grown;
      }
      sums[bucket] = (sums[bucket] ?? 0) + (view.observedRps[folded] ?? 0) / BUCKET;
    }
    const complete = Math.floor(folded / BUCKET);
    const from = Math.max(0, complete - Math.ceil(HISTORY_MINUTES / BUCKET));
    return {
      bucketMinutes: BUCKET,
      startMs: epochMs + (firstMinute + from * BUCKET) * 60_000,
      requestsPerSecond: sums.subarray(from, complete),
    };
  };
}

export interface RingmasterSimOptions {
  /** History bucket the handler would read: 1 (the default) or 5 minutes. */
  readonly historyBucketMinutes?: 1 | 5;
}

export const ringmaster: PolicyFactory = (trace, config, options) => ringmasterWith({})(trace, config, options);

export const ringmasterWith =
  (sim: RingmasterSimOptions): PolicyFactory =>
  (trace, config, options) => {
    const settings = ringmasterSettings(config, trace, options);
    const fiveMinute = sim.historyBucketMinutes === 5 ? fiveMinuteHistory(config.epochMs) : undefined;
    let state: PersistedState | undefined =
      options.initialSpendUsd === undefined
        ? undefined
        : seededState(settings, config.epochMs, options.initialSpendUsd);
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
          view.observedRps.length === 0 ? undefined : fiveMinute ? fiveMinute(view) : historyOf(view, config.epochMs);
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
