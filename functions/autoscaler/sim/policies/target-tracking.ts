/**
 * `targetTracking`: Application Auto Scaling target tracking on an ECS
 * service, as AWS documents it in "How target tracking scaling for
 * Application Auto Scaling works",
 * https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
 * - "How it works": AWS manages two CloudWatch alarms; it scales out in
 *   proportion to the metric when it is above the target, and scales in only
 *   when utilisation is well below it (the low alarm's threshold is 90% of the
 *   target). The alarms AWS creates evaluate one-minute datapoints: 3 above
 *   the target to scale out, 15 below 90% of it to scale in.
 * - "Define cooldown periods": ECS services default to 300 s for both; during
 *   the scale-out cooldown, capacity already added counts toward the next
 *   scale-out, and a scale-out ends a scale-in cooldown.
 * An alarm keeps invoking its action every period it stays in ALARM
 * (CloudWatch, "Using Amazon CloudWatch alarms").
 * The metric is requests per running task (like ALBRequestCountPerTarget)
 * against the shared target, read a minute late like every policy's.
 */
import type { SimConfig } from '../config.js';
import type { PolicyFactory, TickView } from '../model.js';

export const TT_HIGH_DATAPOINTS = 3;
export const TT_LOW_DATAPOINTS = 15;
export const TT_LOW_THRESHOLD_OF_TARGET = 0.9;
export const TT_SCALE_IN_COOLDOWN_MINUTES = 5;

/** Target tracking's state machine, reused by the predictive and budget-capped variants. */
export class TargetTracker {
  private high = 0;
  private low = 0;
  private lastSeenMinute = -1;
  private lastScaleInMinute = Number.NEGATIVE_INFINITY;

  constructor(private readonly config: SimConfig) {}

  /** The desired count after this tick's alarm evaluation, starting from `current`. */
  next(view: TickView, current: number): number {
    const { minCount, maxCount, targetRequestsPerTaskPerSecond: target } = this.config.settings.services.servers;
    const metrics = view.metrics;
    if (!metrics || metrics.minute === this.lastSeenMinute) return current;
    this.lastSeenMinute = metrics.minute;
    const perTask = metrics.tasksMeasured > 0 ? metrics.rps / metrics.tasksMeasured : Number.POSITIVE_INFINITY;
    this.high = perTask > target ? this.high + 1 : 0;
    this.low = perTask < TT_LOW_THRESHOLD_OF_TARGET * target ? this.low + 1 : 0;
    const proportional = Math.min(maxCount, Math.max(minCount, Math.ceil(metrics.rps / target - 1e-9)));
    if (this.high >= TT_HIGH_DATAPOINTS && proportional > current) {
      // The 300 s scale-out cooldown needs no timer here: inside it, capacity already added counts
      // toward the next scale-out, and `proportional > current` adds only what is still missing.
      this.lastScaleInMinute = Number.NEGATIVE_INFINITY;
      return proportional;
    }
    if (
      this.low >= TT_LOW_DATAPOINTS &&
      proportional < current &&
      view.minute - this.lastScaleInMinute >= TT_SCALE_IN_COOLDOWN_MINUTES
    ) {
      this.lastScaleInMinute = view.minute;
      return proportional;
    }
    return current;
  }
}

export const targetTracking: PolicyFactory = (_trace, config) => {
  const tracker = new TargetTracker(config);
  return { tick: (view) => ({ servers: tracker.next(view, view.servers.desired) }) };
};
