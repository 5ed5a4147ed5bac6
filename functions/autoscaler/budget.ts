/**
 * The budget's two limits on each tick's counts.
 *
 * The hard cap: a count is allowed only if paying it until the failsafe
 * would act (hardCapLookAheadMs), with the minimum counts and the overhead
 * reserved to the end of the period, fits in what is left of the budget less
 * its safety margin. Spend therefore never passes the budget, even if ticks
 * stop: the failsafe takes both tiers to their minimum before the money
 * reserved for the counts allowed runs out.
 *
 * The ration: when the forecast says the money will not last, it is spread
 * over the rest of the period (planned on the forecast's week) by water-filling, so every slice of time is cut
 * to the same level instead of spending freely until the money is gone and
 * then dropping to the minimum. The proxy's demand is funded before the
 * servers grow: servers behind a saturated front door serve nobody.
 */
import { taskHourlyUsd } from '#core/pricing/fargate.js';
import type { ServiceName } from '#core/telemetry/metric-names.js';
import { MS_PER_WEEK, type SeasonalForecast, WEEK_ANCHOR_MS } from './forecast.js';
import { longestPeriodMs, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, type PeriodBounds } from './period.js';
import { type AutoscalerSettings, SERVICE_ORDER, type ServiceSettings } from './settings.js';
import { filledAt, waterLevel } from './water-fill.js';

/** Ticks the hard cap pays ahead for at least, so a missed tick cannot overspend. */
export const HARD_CAP_TICKS = 2;
/**
 * From the failsafe's detection time to both tiers at their minimum: the
 * alarm is evaluated about a minute after its last period, its action
 * invokes the failsafe, and ECS takes the new count; tasks then bill for
 * their stop (up to 90 s for a draining proxy). Three minutes covers all of it.
 */
export const FAILSAFE_ACTION_MINUTES = 3;

/**
 * How far ahead the hard cap pays for the counts it allows: until the
 * failsafe would take both tiers to their minimum if no tick ran after this
 * one, and never less than HARD_CAP_TICKS ticks.
 */
export function hardCapLookAheadMs(settings: AutoscalerSettings): number {
  return Math.max(
    HARD_CAP_TICKS * settings.tickMinutes * MS_PER_MINUTE,
    (settings.failsafeAfterMinutes + FAILSAFE_ACTION_MINUTES) * MS_PER_MINUTE,
  );
}

/** Dollars below zero that are float rounding, not a budget short of the minimums. */
const BELOW_MINIMUM_SLACK_USD = 1e-9;

/** The part of the budget the caps may spend: all of it less the safety margin. */
export function spendableUsd(settings: AutoscalerSettings): number {
  return settings.budgetUsd * (1 - settings.budgetSafetyMargin);
}
/** The ration plans the rest of the period in slices of this length of the day. */
export const PLAN_SLICE_MINUTES = 15;
/**
 * A ration less than this many tasks away from the count now keeps the
 * count. The ration is fractional and moves a little every tick (spend
 * accrues, the load and the forecast move); rounding it afresh each tick made
 * the count flap by one task every few minutes, each change a task started
 * (and billed for at least a minute) or stopped. The hard cap is unaffected,
 * so spend still never passes the budget, and the next tick's plan spreads
 * what a kept task costs or saves over the rest of the period.
 */
export const RATION_HYSTERESIS_TASKS = 1;

export function usdPerTaskMs(service: ServiceSettings, settings: AutoscalerSettings): number {
  return (taskHourlyUsd(service.task, settings.fargateRates) + (service.perTaskAddOnUsdPerHour ?? 0)) / MS_PER_HOUR;
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

/**
 * Milliseconds of [fromMs, toMs) that fall in each `sliceMs` slice of a
 * cycle: the UTC day by default, or the week from `anchorMs` (a Monday) for
 * a weekly plan.
 */
export function sliceWeights(
  fromMs: number,
  toMs: number,
  sliceMs: number,
  cycleMs = MS_PER_DAY,
  anchorMs = 0,
): Float64Array {
  const slices = Math.ceil(cycleMs / sliceMs);
  const weights = new Float64Array(slices);
  if (!(toMs > fromMs)) return weights;
  const fullCycles = Math.floor((toMs - fromMs) / cycleMs);
  if (fullCycles > 0)
    for (let s = 0; s < slices; s++) weights[s] = fullCycles * Math.min(sliceMs, cycleMs - s * sliceMs);
  // The rest is under a cycle: walk it slice by slice on a time-of-cycle counter.
  let left = toMs - fromMs - fullCycles * cycleMs;
  let timeOfCycle = (((fromMs - anchorMs) % cycleMs) + cycleMs) % cycleMs;
  while (left > 0) {
    const slice = Math.floor(timeOfCycle / sliceMs);
    const span = Math.min(left, Math.min((slice + 1) * sliceMs, cycleMs) - timeOfCycle);
    weights[slice] = (weights[slice] ?? 0) + span;
    left -= span;
    timeOfCycle += span;
    if (timeOfCycle >= cycleMs) timeOfCycle -= cycleMs;
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
  /** Per service, the desired count now (for the ration's hysteresis); without it there is none. */
  readonly current?: Readonly<Record<ServiceName, number>>;
  /**
   * Per service, the load's highest need in tasks at the target, unrounded
   * (LoadRecommendation.needed). The coming tick's SLO-line share is sized on
   * it, not on `wanted`: `wanted` is rounded up and held by the tolerance, so
   * it moves a task at a time with the count, and a ration cut to a share of
   * it moved with it (5, 6, 5, 6 a minute apart on a noisy night).
   */
  readonly needed?: Readonly<Record<ServiceName, number | undefined>>;
  /** The load forecast (forecast.ts); without one the plan assumes the current demand holds. */
  readonly forecast?: SeasonalForecast | undefined;
}

export interface ServiceBudget {
  /** Highest count the budget allows now. */
  readonly cap: number;
  /** Which limit set `cap`: the hard cap or the ration (undefined when neither binds). */
  readonly binding: 'budgetHardCap' | 'budgetRation' | undefined;
  /**
   * Highest count the hard cap alone allows (within maxCount): what the
   * budget can pay until the failsafe would act. /add is checked against it.
   */
  readonly hardCap: number;
}

export interface BudgetOutcome {
  readonly services: Readonly<Record<ServiceName, ServiceBudget>>;
  /** Even the minimum counts cannot be paid to the period's end. */
  readonly belowMinimum: boolean;
  /** Dollars left beyond the safety margin, the overhead and the minimum counts to the period's end. */
  readonly extraUsd: number;
}

/** Tasks above the minimum each plan slice of the week needs at `requestsPerTask`. */
function sliceDemand(
  service: ServiceSettings,
  profile: Float64Array | undefined,
  slices: number,
  wantedNow: number,
  requestsPerTask: number,
): Float64Array {
  const demand = new Float64Array(slices);
  const scale = service.targetRequestsPerTaskPerSecond / requestsPerTask;
  for (let s = 0; s < slices; s++) {
    const rps = profile?.[s];
    // Without a forecast, plan as if the current demand held: the most that can be said.
    const tasks = rps === undefined || !Number.isFinite(rps) ? wantedNow * scale : rps / requestsPerTask;
    demand[s] = Math.min(service.maxCount, Math.max(service.minCount, tasks)) - service.minCount;
  }
  return demand;
}

/**
 * The slices the rest of the period touches, and the forecast for each: a
 * day's period leaves most of the week's 672 slices empty, and they change
 * nothing in the water-filling but its cost.
 */
function activeSlices(
  weights: Float64Array,
  profile: Float64Array | undefined,
): { weights: Float64Array; profile: Float64Array | undefined } {
  let count = 0;
  for (const w of weights) if (w > 0) count++;
  const keptWeights = new Float64Array(count);
  const keptProfile = profile ? new Float64Array(count) : undefined;
  for (let s = 0, k = 0; s < weights.length; s++) {
    const w = weights[s] ?? 0;
    if (!(w > 0)) continue;
    keptWeights[k] = w;
    if (keptProfile) keptProfile[k] = profile?.[s] ?? Number.NaN;
    k++;
  }
  return { weights: keptWeights, profile: keptProfile };
}

interface Ration {
  /** Tasks above the minimum for the coming tick (fractional). */
  readonly now: number;
  /** Whether the coming tick got its whole demand (then round up, else to nearest). */
  readonly whole: boolean;
  /** Task-ms above the minimum the plan spends to the period's end. */
  readonly plannedTaskMs: number;
}

/**
 * Two layers, each water-filled: first every slice up to the SLO line (lean),
 * then, with what is left, the headroom up to the target. `weights[0]` is the
 * coming tick.
 */
function ration(weights: Float64Array, lean: Float64Array, full: Float64Array, taskMs: number): Ration {
  const leanLevel = waterLevel(weights, lean, taskMs);
  const leanNow = lean[0] ?? 0;
  if (Number.isFinite(leanLevel)) {
    return { now: Math.min(leanNow, leanLevel), whole: leanNow <= leanLevel, plannedTaskMs: taskMs };
  }
  const headroom = full.map((x, i) => Math.max(0, x - (lean[i] ?? 0)));
  const leanTaskMs = filledAt(weights, lean, Number.POSITIVE_INFINITY);
  const headLevel = waterLevel(weights, headroom, taskMs - leanTaskMs);
  const headNow = headroom[0] ?? 0;
  return {
    now: leanNow + Math.min(headNow, headLevel),
    whole: headNow <= headLevel,
    plannedTaskMs: leanTaskMs + filledAt(weights, headroom, headLevel),
  };
}

export function budgetCaps(request: BudgetRequest): BudgetOutcome {
  const { settings, nowMs, period, wanted } = request;
  const unlimited = (name: ServiceName): ServiceBudget => ({
    cap: settings.services[name].maxCount,
    binding: undefined,
    hardCap: settings.services[name].maxCount,
  });
  if (settings.budgetUsd === Number.POSITIVE_INFINITY) {
    return {
      services: { proxy: unlimited('proxy'), servers: unlimited('servers') },
      belowMinimum: false,
      extraUsd: Number.POSITIVE_INFINITY,
    };
  }
  const leftMs = Math.max(0, period.endMs - Math.max(nowMs, period.startMs));
  const tickMs = settings.tickMinutes * MS_PER_MINUTE;
  const aheadMs = Math.min(leftMs, hardCapLookAheadMs(settings));
  // Money beyond the overhead and the minimum counts to the end of the period, inside the margin.
  let extra = spendableUsd(settings) - request.spendUsd - overheadPerMs(settings) * leftMs;
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    extra -= service.minCount * usdPerTaskMs(service, settings) * leftMs;
  }
  const atMinimum = (name: ServiceName): ServiceBudget => ({
    cap: settings.services[name].minCount,
    binding: wanted[name] > settings.services[name].minCount ? 'budgetHardCap' : undefined,
    hardCap: settings.services[name].minCount,
  });
  const extraUsd = extra;
  // A deployment may start at any moment and run its new tasks beside the old ones (up to
  // deploySurgeFactor x the count): the hard cap pays that surge for its look-ahead, at the
  // minimum counts too, so a deploy cannot spend money the cap has not reserved.
  const surge = settings.deploySurgeFactor;
  let surgeReserve = 0;
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    surgeReserve += service.minCount * usdPerTaskMs(service, settings) * aheadMs * (surge - 1);
  }
  if (extra - surgeReserve < 0 || aheadMs <= 0) {
    return {
      services: { proxy: atMinimum('proxy'), servers: atMinimum('servers') },
      // A rounding error's worth below zero is zero (a lost ledger is set to leave exactly 0).
      belowMinimum: extra < -BELOW_MINIMUM_SLACK_USD,
      extraUsd,
    };
  }

  // Could even the maximum counts to the period's end bind? If not, skip the plan.
  let fullCost = 0;
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    fullCost += (service.maxCount - service.minCount) * usdPerTaskMs(service, settings) * leftMs;
  }
  const mayBind = fullCost > extra;
  const planSliceMs = PLAN_SLICE_MINUTES * MS_PER_MINUTE;
  // The plan's slices are the UTC week's: weekdays and weekends differ, and a weekly or monthly period spans both.
  const plan = mayBind
    ? activeSlices(
        sliceWeights(nowMs + tickMs, nowMs + leftMs, planSliceMs, MS_PER_WEEK, WEEK_ANCHOR_MS),
        request.forecast?.weekProfile(planSliceMs),
      )
    : undefined;
  const weights = plan?.weights;
  const profile = plan?.profile;

  let hardMoney = extra - surgeReserve;
  let planMoney = extra;
  const out: Partial<Record<ServiceName, ServiceBudget>> = {};
  for (const name of SERVICE_ORDER) {
    const service = settings.services[name];
    const price = usdPerTaskMs(service, settings);
    const hardCap = service.minCount + Math.max(0, Math.floor(hardMoney / (price * aheadMs * surge) + 1e-9));
    let cap = Math.min(service.maxCount, hardCap);
    let binding: ServiceBudget['binding'] = wanted[name] > cap ? 'budgetHardCap' : undefined;
    if (weights && service.maxCount > service.minCount) {
      // Slice 0 is the coming tick at what the load asks now; the rest follow the forecast.
      const sloRate = service.sloRequestsPerTaskPerSecond ?? service.targetRequestsPerTaskPerSecond;
      const target = service.targetRequestsPerTaskPerSecond;
      const withNow = (demand: Float64Array, now: number) => {
        const all = new Float64Array(demand.length + 1);
        all[0] = now;
        all.set(demand, 1);
        return all;
      };
      const allWeights = withNow(weights, Math.min(tickMs, leftMs));
      const wantedExtra = wanted[name] - service.minCount;
      const full = withNow(sliceDemand(service, profile, weights.length, wanted[name], target), wantedExtra);
      const need = Math.min(wanted[name], request.needed?.[name] ?? wanted[name]);
      const leanNow = Math.max(0, (need * target) / sloRate - service.minCount);
      const lean = withNow(sliceDemand(service, profile, weights.length, wanted[name], sloRate), leanNow);
      const plan = ration(allWeights, lean, full, Math.max(0, planMoney) / price);
      const rationed = service.minCount + plan.now;
      let rationCap = service.minCount + (plan.whole ? Math.ceil(plan.now - 1e-9) : Math.round(plan.now));
      const current = request.current?.[name];
      if (!plan.whole && current !== undefined && Math.abs(rationed - current) < RATION_HYSTERESIS_TASKS) {
        rationCap = current;
      }
      if (rationCap < cap) {
        cap = rationCap;
        binding = wanted[name] > cap ? 'budgetRation' : undefined;
      }
      planMoney -= plan.plannedTaskMs * price;
    }
    const granted = Math.min(wanted[name], cap);
    hardMoney -= (granted - service.minCount) * price * aheadMs * surge;
    out[name] = { cap, binding, hardCap: Math.min(service.maxCount, hardCap) };
  }
  return {
    services: { proxy: out.proxy ?? unlimited('proxy'), servers: out.servers ?? unlimited('servers') },
    belowMinimum: false,
    extraUsd,
  };
}
