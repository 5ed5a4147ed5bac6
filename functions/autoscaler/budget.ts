/**
 * The budget's two limits on each tick's counts.
 *
 * The hard cap: a count is allowed only if paying it for the next
 * HARD_CAP_TICKS ticks, with the minimum counts and the overhead reserved to
 * the end of the period, fits in what is left. Spend therefore never passes
 * the budget, even if a tick or two is missed.
 *
 * The ration: when the forecast says the money will not last, it is spread
 * over the rest of the period by water-filling, so every slice of time is cut
 * to the same level instead of spending freely until the money is gone and
 * then dropping to the minimum. The proxy's demand is funded before the
 * servers grow: servers behind a saturated front door serve nobody.
 */
import { taskHourlyUsd } from '#core/pricing/fargate.js';
import type { ServiceName } from '#core/telemetry/metric-names.js';
import { dailyProfile, levelRatio } from './forecast.js';
import type { RequestRateHistory } from './inputs.js';
import { longestPeriodMs, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, type PeriodBounds } from './period.js';
import { type AutoscalerSettings, SERVICE_ORDER, type ServiceSettings } from './settings.js';
import { filledAt, waterLevel } from './water-fill.js';

/** Ticks the hard cap pays ahead for, so a missed tick cannot overspend. */
export const HARD_CAP_TICKS = 2;
/** The ration plans the rest of the period in slices of this length of the day. */
export const PLAN_SLICE_MINUTES = 10;

export function usdPerTaskMs(service: ServiceSettings, settings: AutoscalerSettings): number {
  return taskHourlyUsd(service.task, settings.fargateRates) / MS_PER_HOUR;
}

function overheadPerMs(settings: AutoscalerSettings): number {
  return settings.fixedOverheadUsdPerHour / MS_PER_HOUR;
}

/**
 * Dollars the minimum counts and the overhead cost over a whole period (the
 * longest one of its kind: 31 days for 'month'). A budget below this cannot be
 * kept by any policy; config validation refuses it.
 */
export function minimumSpendForPeriod(settings: AutoscalerSettings): number {
  const periodMs = longestPeriodMs(settings.budgetPeriod);
  let perMs = overheadPerMs(settings);
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    perMs += service.minCount * usdPerTaskMs(service, settings);
  }
  return perMs * periodMs;
}

/** Milliseconds of [fromMs, toMs) that fall in each `sliceMs` slice of the UTC day. */
export function sliceWeights(fromMs: number, toMs: number, sliceMs: number): Float64Array {
  const slices = Math.ceil(MS_PER_DAY / sliceMs);
  const weights = new Float64Array(slices);
  if (!(toMs > fromMs)) return weights;
  const fullDays = Math.floor((toMs - fromMs) / MS_PER_DAY);
  if (fullDays > 0)
    for (let s = 0; s < slices; s++) weights[s] = fullDays * Math.min(sliceMs, MS_PER_DAY - s * sliceMs);
  let t = fromMs + fullDays * MS_PER_DAY;
  while (t < toMs) {
    const timeOfDay = ((t % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY;
    const slice = Math.floor(timeOfDay / sliceMs);
    const sliceEnd = Math.min(t - timeOfDay + Math.min((slice + 1) * sliceMs, MS_PER_DAY), toMs);
    weights[slice] = (weights[slice] ?? 0) + (sliceEnd - t);
    t = sliceEnd;
  }
  return weights;
}

export interface BudgetRequest {
  readonly settings: AutoscalerSettings;
  readonly nowMs: number;
  readonly period: PeriodBounds;
  readonly spendUsd: number;
  /** Per service, what the load rules asked for (already within min/max). */
  readonly wanted: Readonly<Record<ServiceName, number>>;
  readonly history?: RequestRateHistory | undefined;
}

export interface ServiceBudget {
  /** Highest count the budget allows now. */
  readonly cap: number;
  /** Which limit set `cap`: the hard cap or the ration (undefined when neither binds). */
  readonly binding: 'budgetHardCap' | 'budgetRation' | undefined;
}

export interface BudgetOutcome {
  readonly services: Readonly<Record<ServiceName, ServiceBudget>>;
  /** Even the minimum counts cannot be paid to the period's end. */
  readonly belowMinimum: boolean;
}

/** Each tick's demand for the rest of the period, in tasks, per plan slice of the day. */
function futureDemand(
  service: ServiceSettings,
  profile: Float64Array | undefined,
  ratio: number,
  wantedNow: number,
): Float64Array {
  const slices = Math.ceil(MS_PER_DAY / (PLAN_SLICE_MINUTES * MS_PER_MINUTE));
  const demand = new Float64Array(slices);
  let known = 0;
  let knownSum = 0;
  if (profile) {
    for (const value of profile) {
      if (Number.isFinite(value)) {
        known++;
        knownSum += value;
      }
    }
  }
  // Without a profile, plan as if today's demand held: the most that can be said.
  const fallbackRps = known > 0 ? knownSum / known : undefined;
  for (let s = 0; s < slices; s++) {
    const rps = profile?.[s];
    const rate = rps !== undefined && Number.isFinite(rps) ? rps : fallbackRps;
    const tasks = rate === undefined ? wantedNow : (rate * ratio) / service.targetRequestsPerTaskPerSecond;
    demand[s] = Math.min(service.maxCount, Math.max(service.minCount, tasks)) - service.minCount;
  }
  return demand;
}

export function budgetCaps(request: BudgetRequest): BudgetOutcome {
  const { settings, nowMs, period, wanted } = request;
  const unlimited = (name: ServiceName): ServiceBudget => ({
    cap: settings.services[name].maxCount,
    binding: undefined,
  });
  if (settings.budgetUsd === Number.POSITIVE_INFINITY) {
    return { services: { proxy: unlimited('proxy'), servers: unlimited('servers') }, belowMinimum: false };
  }
  const leftMs = Math.max(0, period.endMs - Math.max(nowMs, period.startMs));
  const tickMs = settings.tickMinutes * MS_PER_MINUTE;
  const aheadMs = Math.min(leftMs, HARD_CAP_TICKS * tickMs);
  // Money beyond the overhead and the minimum counts to the end of the period.
  let extra = settings.budgetUsd - request.spendUsd - overheadPerMs(settings) * leftMs;
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    extra -= service.minCount * usdPerTaskMs(service, settings) * leftMs;
  }
  const atMinimum = (name: ServiceName): ServiceBudget => ({
    cap: settings.services[name].minCount,
    binding: wanted[name] > settings.services[name].minCount ? 'budgetHardCap' : undefined,
  });
  if (extra < 0 || aheadMs <= 0) {
    return { services: { proxy: atMinimum('proxy'), servers: atMinimum('servers') }, belowMinimum: extra < 0 };
  }

  // Could even the maximum counts to the period's end bind? If not, skip the plan.
  let fullCost = 0;
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    fullCost += (service.maxCount - service.minCount) * usdPerTaskMs(service, settings) * leftMs;
  }
  const mayBind = fullCost > extra;
  const planSliceMs = PLAN_SLICE_MINUTES * MS_PER_MINUTE;
  const ratio = mayBind && request.history ? levelRatio(request.history, nowMs) : undefined;
  const profile =
    ratio !== undefined && request.history ? dailyProfile(request.history, nowMs, planSliceMs) : undefined;
  const weights = mayBind ? sliceWeights(nowMs + tickMs, nowMs + leftMs, planSliceMs) : undefined;

  let hardMoney = extra;
  let planMoney = extra;
  const out: Partial<Record<ServiceName, ServiceBudget>> = {};
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    const price = usdPerTaskMs(service, settings);
    const hardCap = service.minCount + Math.max(0, Math.floor(hardMoney / (price * aheadMs) + 1e-9));
    let cap = Math.min(service.maxCount, hardCap);
    let binding: ServiceBudget['binding'] = wanted[name] > cap ? 'budgetHardCap' : undefined;
    if (weights) {
      // Slice 0 is the coming tick at what the load asks now; the rest follow the forecast.
      const demand = futureDemand(service, profile, ratio ?? 1, wanted[name]);
      const allWeights = new Float64Array(weights.length + 1);
      const allDemand = new Float64Array(demand.length + 1);
      allWeights[0] = Math.min(tickMs, leftMs);
      allDemand[0] = wanted[name] - service.minCount;
      allWeights.set(weights, 1);
      allDemand.set(demand, 1);
      const level = waterLevel(allWeights, allDemand, Math.max(0, planMoney) / price);
      if (Number.isFinite(level)) {
        const rationCap = service.minCount + Math.round(level);
        if (rationCap < cap) {
          cap = rationCap;
          binding = wanted[name] > cap ? 'budgetRation' : undefined;
        }
      }
      planMoney -= filledAt(allWeights, allDemand, level) * price;
    }
    const granted = Math.min(wanted[name], cap);
    hardMoney -= (granted - service.minCount) * price * aheadMs;
    out[name] = { cap, binding };
  }
  return {
    services: { proxy: out.proxy ?? unlimited('proxy'), servers: out.servers ?? unlimited('servers') },
    belowMinimum: false,
  };
}
