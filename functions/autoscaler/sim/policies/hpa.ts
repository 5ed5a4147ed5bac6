/**
 * `hpa`: the Kubernetes Horizontal Pod Autoscaler with its defaults, as its
 * owner documents them in https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/
 * - "How does a HorizontalPodAutoscaler work?": a control loop every 15 s
 *   (--horizontal-pod-autoscaler-sync-period);
 * - "Algorithm details": desiredReplicas = ceil(currentReplicas × currentMetric / desiredMetric),
 *   skipped within a 0.1 tolerance; pods without metrics (not yet ready) count
 *   as using nothing when scaling up, so new pods are not counted twice;
 * - "Stabilization window" / "Default Behavior": scale-down uses the highest
 *   recommendation of the last 300 s; scale-up is limited to the larger of
 *   100% or 4 pods per 15 s, with no stabilisation.
 * The metric is requests per pod against the shared target; it changes once
 * a minute (one-minute metrics), so the four loops of a minute see the same
 * value and differ only in the scale-up limit they apply.
 */
import type { PolicyFactory } from '../model.js';

export const HPA_LOOPS_PER_MINUTE = 4;
export const HPA_TOLERANCE = 0.1;
export const HPA_DOWNSCALE_STABILIZATION_LOOPS = (300 / 15) | 0;
export const HPA_SCALE_UP_PERCENT = 100;
export const HPA_SCALE_UP_PODS = 4;

export const hpa: PolicyFactory = (_trace, config) => {
  const { minCount, maxCount, targetRequestsPerTaskPerSecond } = config.settings.services.servers;
  const recommendations: number[] = [];
  return {
    tick(view) {
      let replicas = view.servers.desired;
      for (let loop = 0; loop < HPA_LOOPS_PER_MINUTE; loop++) {
        let recommendation = replicas;
        if (view.metrics && replicas > 0) {
          const ratio = view.metrics.rps / (targetRequestsPerTaskPerSecond * replicas);
          if (Math.abs(ratio - 1) > HPA_TOLERANCE) recommendation = Math.ceil(replicas * ratio - 1e-9);
        }
        recommendation = Math.min(maxCount, Math.max(minCount, recommendation));
        recommendations.push(recommendation);
        if (recommendations.length > HPA_DOWNSCALE_STABILIZATION_LOOPS) recommendations.shift();
        if (recommendation > replicas) {
          const limit = Math.max(Math.ceil(replicas * (1 + HPA_SCALE_UP_PERCENT / 100)), replicas + HPA_SCALE_UP_PODS);
          replicas = Math.min(recommendation, limit);
        } else if (recommendation < replicas) {
          replicas = Math.min(replicas, Math.max(...recommendations));
        }
      }
      return { servers: replicas };
    },
  };
};
