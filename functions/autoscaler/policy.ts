/**
 * The autoscaler's policy: a pure function of what the handler read. The
 * handler does only I/O around it: read state → decide → write nextState on
 * the version it read → UpdateService where `changed` → emit metrics.
 */
import type { ServiceName } from '#core/telemetry/metric-names.js';
import { budgetCaps, usdPerTaskMs } from './budget.js';
import type { BudgetStatus, Clamp, ServiceDecision, SignalNeeds, TickDecision } from './decision.js';
import { fitForecast } from './forecast.js';
import type { ServiceObservation, TickInputs } from './inputs.js';
import { accrue } from './ledger.js';
import { MS_PER_HOUR, MS_PER_MINUTE, periodBounds } from './period.js';
import { type AutoscalerSettings, SERVICE_ORDER, type ServiceSettings } from './settings.js';
import { type PersistedState, type Recommendation, type ServiceState, STATE_FORMAT } from './state.js';
import { type LoadRecommendation, recommend } from './target.js';

export type { BudgetStatus, Clamp, ClampKind, ServiceDecision, SignalNeeds, TickDecision } from './decision.js';
export type { RequestRateHistory, ServiceMetrics, ServiceObservation, TickInputs } from './inputs.js';
export type { PersistedState, ServiceState } from './state.js';

interface Stabilised {
  readonly wanted: number;
  readonly clamps: readonly Clamp[];
  readonly recent: readonly Recommendation[];
}

function hasData(observation: ServiceObservation): boolean {
  const { metrics } = observation;
  return (
    metrics.complete &&
    [metrics.requestsPerSecond, metrics.cpuPercent, metrics.p99Ms].some((x) => x !== undefined && Number.isFinite(x))
  );
}

/** Scale out at once (capped per tick); scale in only slowly, and never on missing data. */
function stabilise(
  load: LoadRecommendation,
  observation: ServiceObservation,
  previous: ServiceState | undefined,
  service: ServiceSettings,
  settings: AutoscalerSettings,
  nowMs: number,
): Stabilised {
  const { capacity, recommendation, scaleInFloor, windowCount } = load;
  const complete = hasData(observation);
  const windowStart = nowMs - settings.scaleInWindowMinutes * MS_PER_MINUTE;
  // Missing data must not open the way to a later scale-in: remember at least the current capacity.
  const remembered = complete ? windowCount : Math.max(scaleInFloor, Math.min(capacity, service.maxCount));
  const recent = [
    ...(previous?.recentRecommendations ?? []).filter((r) => r.atMs > windowStart && r.atMs < nowMs),
    { atMs: nowMs, count: remembered },
  ];
  const clamps: Clamp[] = [];
  let wanted = recommendation;
  if (recommendation > capacity) {
    const limit = Math.floor(capacity * settings.scaleOutFactor) + settings.scaleOutStep;
    if (recommendation > limit) {
      clamps.push({ kind: 'scaleOutLimit', from: recommendation, to: limit });
      wanted = limit;
    }
  } else if (recommendation < capacity) {
    // Above maxCount (the configuration shrank) the count comes down whatever the data says.
    const hold = Math.max(recommendation, Math.min(capacity, service.maxCount));
    const sinceScaleOut = previous?.lastScaleOutMs == null ? Number.POSITIVE_INFINITY : nowMs - previous.lastScaleOutMs;
    if (!complete) {
      if (hold !== recommendation) clamps.push({ kind: 'missingData', from: recommendation, to: hold });
      wanted = hold;
    } else if (sinceScaleOut < settings.scaleInAfterScaleOutMinutes * MS_PER_MINUTE) {
      if (hold !== recommendation) clamps.push({ kind: 'scaleInAfterScaleOut', from: recommendation, to: hold });
      wanted = hold;
    } else {
      const highest = Math.min(hold, Math.max(scaleInFloor, ...recent.map((r) => r.count)));
      if (highest > recommendation) clamps.push({ kind: 'scaleInWindow', from: recommendation, to: highest });
      wanted = highest;
    }
  }
  return { wanted: Math.min(service.maxCount, Math.max(service.minCount, wanted)), clamps, recent };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function explain(
  name: ServiceName,
  capacity: number,
  desired: number,
  needs: SignalNeeds,
  clamps: readonly Clamp[],
  budgetLimited: boolean,
): string {
  const signals = (Object.entries(needs) as [string, number | undefined][])
    .filter(([, need]) => need !== undefined)
    .map(([signal, need]) => `${signal} ${round1(need ?? 0)}`);
  const parts = [signals.length > 0 ? `tasks needed by ${signals.join(', ')}` : 'no metrics and no forecast'];
  for (const clamp of clamps) parts.push(`${clamp.kind} ${clamp.from}->${clamp.to}`);
  if (budgetLimited) parts.push('BUDGET LIMITED');
  return `${name} ${capacity} -> ${desired}: ${parts.join('; ')}`;
}

export function decide(inputs: TickInputs): TickDecision {
  const { nowMs, settings, state, history } = inputs;
  const period = periodBounds(settings.budgetPeriod, nowMs);
  const ledger = accrue(state, inputs.services, nowMs, period, settings, inputs.servicesSinceMs);
  // One fit per tick serves the load rules and the budget's plan.
  const forecast = history ? fitForecast(history) : undefined;
  // Tasks asked for now serve from taskStartMinutes on, until the next tick's tasks could take over.
  const forecastRps = forecast?.peak(nowMs, nowMs + (settings.taskStartMinutes + settings.tickMinutes) * MS_PER_MINUTE);

  const loads = {} as Record<ServiceName, LoadRecommendation>;
  const stable = {} as Record<ServiceName, Stabilised>;
  const wanted = { proxy: 0, servers: 0 };
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    const observation = inputs.services[name];
    loads[name] = recommend(observation, service, settings, forecastRps);
    stable[name] = stabilise(loads[name], observation, state?.services[name], service, settings, nowMs);
    wanted[name] = stable[name].wanted;
  }

  const current = { proxy: inputs.services.proxy.desiredCount, servers: inputs.services.servers.desiredCount };
  const needed = { proxy: loads.proxy.needed, servers: loads.servers.needed };
  const budget = budgetCaps({ settings, nowMs, period, spendUsd: ledger.spendUsd, wanted, current, needed, forecast });
  const services = {} as Record<ServiceName, ServiceDecision>;
  const nextServices = {} as Record<ServiceName, ServiceState>;
  const leftMs = Math.max(0, period.endMs - nowMs);
  let projectedUsd = ledger.spendUsd + (settings.fixedOverheadUsdPerHour / MS_PER_HOUR) * leftMs;
  for (const name of SERVICE_ORDER) {
    const load = loads[name];
    const { cap, binding } = budget.services[name];
    const clamps = [...load.clamps, ...stable[name].clamps];
    let desired = wanted[name];
    const budgetLimited = binding !== undefined && desired > cap;
    if (budgetLimited && binding) {
      clamps.push({ kind: binding, from: desired, to: cap });
      desired = cap;
    }
    if (inputs.loadUnavailable) {
      // Without load, nothing justifies paying for more: hold or come down, never go up.
      const ceiling = Math.max(inputs.services[name].desiredCount, settings.services[name].minCount);
      if (desired > ceiling) {
        clamps.push({ kind: 'loadUnavailable', from: desired, to: ceiling });
        desired = ceiling;
      }
    }
    const previous = state?.services[name];
    services[name] = {
      capacity: load.capacity,
      recommendation: load.recommendation,
      desiredCount: desired,
      changed: desired !== inputs.services[name].desiredCount,
      needs: load.needs,
      clamps,
      budgetLimited,
      reason: explain(name, load.capacity, desired, load.needs, clamps, budgetLimited),
    };
    nextServices[name] = {
      lastDesired: desired,
      lastBillable: ledger.billed[name],
      recentRecommendations: stable[name].recent,
      lastScaleOutMs: desired > load.capacity ? nowMs : (previous?.lastScaleOutMs ?? null),
    };
    projectedUsd += desired * usdPerTaskMs(settings.services[name], settings) * leftMs;
  }

  const status: BudgetStatus = {
    budgetUsd: settings.budgetUsd,
    spendUsd: ledger.spendUsd,
    remainingUsd: settings.budgetUsd - ledger.spendUsd,
    projectedSpendUsd: projectedUsd,
    periodStartMs: period.startMs,
    periodEndMs: period.endMs,
    belowMinimum: budget.belowMinimum,
    extraUsd: budget.extraUsd,
    hardCaps: { proxy: budget.services.proxy.hardCap, servers: budget.services.servers.hardCap },
  };
  const nextState: PersistedState = {
    format: STATE_FORMAT,
    version: (state?.version ?? 0) + 1,
    periodStartMs: period.startMs,
    periodEndMs: period.endMs,
    spendUsd: ledger.spendUsd,
    lastTickMs: nowMs,
    services: nextServices,
  };
  return { services, budget: status, nextState };
}

export { minimumSpendForPeriod } from './budget.js';
export { parseSettings, SettingsError } from './parse-settings.js';
export {
  type AutoscalerSettings,
  type BudgetPeriod,
  POLICY_DEFAULTS,
  type ServiceSettings,
  withDefaults,
} from './settings.js';
export { parseState, STATE_FORMAT, StateError } from './state.js';
