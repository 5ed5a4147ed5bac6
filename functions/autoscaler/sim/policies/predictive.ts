/**
 * `predictive`: target tracking plus ECS predictive scaling, as AWS documents
 * it: "Create a predictive scaling policy for Amazon ECS service auto
 * scaling", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/predictive-scaling-create-policy.html
 * (a forecast needs at least 24 hours of data), and the
 * PredictiveScalingPolicyConfiguration API reference,
 * https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredictiveScalingPolicyConfiguration.html
 * (SchedulingBufferTime: capacity is launched ahead, default 300 s; forecasts
 * are hourly). The load forecast for an hour is that hour's mean on the
 * previous days (up to 14), the capacity forecast that load over the target;
 * it is a floor under target tracking, which still scales out above it and
 * scales in after it. AWS's forecasting model is not published; the mean of
 * past days is the plainest reading of "based on historical data".
 */
import type { PolicyFactory } from '../model.js';
import { MINUTES_PER_DAY } from '../trace.js';
import { TargetTracker } from './target-tracking.js';

export const PREDICTIVE_BUFFER_MINUTES = 5;
export const PREDICTIVE_MIN_HISTORY_MINUTES = MINUTES_PER_DAY;
export const PREDICTIVE_MAX_DAYS = 14;
const MINUTES_PER_HOUR = 60;

export const predictive: PolicyFactory = (_trace, config) => {
  const tracker = new TargetTracker(config);
  const { minCount, maxCount, targetRequestsPerTaskPerSecond } = config.settings.services.servers;
  const forecasts = new Map<number, number | undefined>();

  /** Capacity forecast for the hour starting at `hourStart` (a trace minute), from the readable history. */
  function forecastFor(hourStart: number, observed: Float64Array, firstMinute: number): number | undefined {
    if (observed.length < PREDICTIVE_MIN_HISTORY_MINUTES) return undefined;
    if (forecasts.has(hourStart)) return forecasts.get(hourStart);
    let sum = 0;
    let samples = 0;
    for (let day = 1; day <= PREDICTIVE_MAX_DAYS; day++) {
      const from = hourStart - day * MINUTES_PER_DAY - firstMinute;
      if (from < 0 || from + MINUTES_PER_HOUR > observed.length) continue;
      for (let i = from; i < from + MINUTES_PER_HOUR; i++) sum += observed[i] ?? 0;
      samples += MINUTES_PER_HOUR;
    }
    const capacity =
      samples > 0
        ? Math.min(maxCount, Math.max(minCount, Math.ceil(sum / samples / targetRequestsPerTaskPerSecond - 1e-9)))
        : undefined;
    forecasts.set(hourStart, capacity);
    return capacity;
  }

  return {
    tick(view) {
      const reactive = tracker.next(view, view.servers.desired);
      const launchFor = view.minute + PREDICTIVE_BUFFER_MINUTES;
      const hourStart = Math.floor(launchFor / MINUTES_PER_HOUR) * MINUTES_PER_HOUR;
      const floor = forecastFor(hourStart, view.observedRps, view.observedFirstMinute) ?? minCount;
      return { servers: Math.max(reactive, floor) };
    },
  };
};
