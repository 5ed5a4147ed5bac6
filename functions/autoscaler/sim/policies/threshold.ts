/**
 * `threshold`: the seed's rule, which models the seed autoscaler
 * Ringmaster replaces: every tick, one task more when utilisation (CPU, a
 * minute late) is over 80%, one fewer when it is under 30%.
 */
import type { PolicyFactory } from '../model.js';

export const THRESHOLD_HIGH_PERCENT = 80;
export const THRESHOLD_LOW_PERCENT = 30;

export const threshold: PolicyFactory = (_trace, config) => {
  const { minCount, maxCount } = config.settings.services.servers;
  return {
    tick(view) {
      const current = view.servers.desired;
      const cpu = view.metrics?.cpuPercent;
      let next = current;
      if (cpu !== undefined && cpu > THRESHOLD_HIGH_PERCENT) next = current + 1;
      else if (cpu !== undefined && cpu < THRESHOLD_LOW_PERCENT) next = current - 1;
      return { servers: Math.min(maxCount, Math.max(minCount, next)) };
    },
  };
};
