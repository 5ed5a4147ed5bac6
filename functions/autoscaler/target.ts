/**
 * Target tracking for one service: what the load asks for, before the
 * budget. Each signal is normalised into tasks needed (requests per task
 * against a target, CPU against a target, the forecast against the request
 * target; p99 over the SLO as one step more than the tasks measured) and the
 * highest wins.
 */
import type { Clamp, SignalNeeds } from './decision.js';
import type { ServiceObservation } from './inputs.js';
import type { AutoscalerSettings, ServiceSettings } from './settings.js';

/** Rounding slack, so 12.0000000001 tasks is 12. */
const EPSILON = 1e-9;

export interface LoadRecommendation {
  /**
   * ECS's desired count: it includes pending and not-yet-placed tasks
   * (capacity on the way); running tasks above it are being stopped.
   */
  readonly capacity: number;
  readonly needs: SignalNeeds;
  /** The highest need, undefined when every signal was missing. */
  readonly needed: number | undefined;
  /** Within min/max: what the load asks for now. */
  readonly recommendation: number;
  /**
   * The lowest count a scale-in may reach on this tick's load: the need with
   * the tolerance as headroom, so that the noise which changed nothing at the
   * old count does not trigger a scale-out at the new one. The scale-in
   * window remembers this.
   */
  readonly scaleInFloor: number;
  /**
   * What the scale-in window remembers of this tick: the need rounded up,
   * without the headroom (the current tick's floor adds that). Remembering
   * the headroom too held every spike's count 10% high for the whole window.
   */
  readonly windowCount: number;
  readonly clamps: readonly Clamp[];
}

export function needsFrom(
  observation: ServiceObservation,
  service: ServiceSettings,
  settings: AutoscalerSettings,
  forecastRps: number | undefined,
): SignalNeeds {
  const { metrics } = observation;
  const measuredOver = metrics.tasksMeasured ?? observation.runningCount;
  const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) && x >= 0 ? x : undefined);
  const rps = finite(metrics.requestsPerSecond);
  const cpu = finite(metrics.cpuPercent);
  const p99 = finite(metrics.p99Ms);
  const forecast = finite(forecastRps);
  return {
    // Total rate over the per-task target: independent of how many tasks served it.
    requests: rps === undefined ? undefined : rps / service.targetRequestsPerTaskPerSecond,
    cpu: cpu === undefined ? undefined : (measuredOver * cpu) / service.targetCpuPercent,
    // Bounded: p99 over the SLO adds one step to the tasks measured (how far over says little about
    // how many more are needed: at saturation it is the queue's length); under it, it asks for nothing
    // and utilisation sizes the fleet.
    p99: p99 === undefined ? undefined : p99 > settings.p99SloMs ? measuredOver + settings.scaleOutStep : 0,
    forecast: forecast === undefined ? undefined : forecast / service.targetRequestsPerTaskPerSecond,
  };
}

export function recommend(
  observation: ServiceObservation,
  service: ServiceSettings,
  settings: AutoscalerSettings,
  forecastRps: number | undefined,
): LoadRecommendation {
  const capacity = observation.desiredCount;
  const needs = needsFrom(observation, service, settings, forecastRps);
  let needed: number | undefined;
  for (const need of [needs.requests, needs.cpu, needs.p99, needs.forecast]) {
    if (need !== undefined && (needed === undefined || need > needed)) needed = need;
  }
  const clamps: Clamp[] = [];
  let count = capacity;
  if (needed !== undefined) {
    const ratio = capacity > 0 ? needed / capacity : needed > 0 ? Number.POSITIVE_INFINITY : 1;
    const raw = Math.ceil(needed - EPSILON);
    if (Math.abs(ratio - 1) <= settings.tolerance) {
      if (raw !== capacity) clamps.push({ kind: 'tolerance', from: raw, to: capacity });
    } else {
      count = raw;
    }
  }
  if (count < service.minCount) {
    clamps.push({ kind: 'minCount', from: count, to: service.minCount });
    count = service.minCount;
  }
  if (count > service.maxCount) {
    clamps.push({ kind: 'maxCount', from: count, to: service.maxCount });
    count = service.maxCount;
  }
  const floor =
    needed === undefined || count >= capacity
      ? count
      : Math.min(capacity, Math.ceil(needed * (1 + settings.tolerance) - EPSILON));
  const scaleInFloor = Math.min(service.maxCount, Math.max(service.minCount, floor));
  const windowCount =
    needed === undefined || count >= capacity
      ? scaleInFloor
      : Math.min(scaleInFloor, Math.max(service.minCount, Math.ceil(needed - EPSILON)));
  return { capacity, needs, needed, recommendation: count, scaleInFloor, windowCount, clamps };
}
