/**
 * `naiveCap`: target tracking clamped by the budget cap a careful operator
 * would write without a forecast: the count the remaining money can pay at a
 * constant rate to the end of the period, after the proxy's minimum and the
 * overhead. It reads the true spend (better than any real ledger).
 */
import { taskHourlyUsd } from '#core/pricing/fargate.js';
import type { PolicyFactory } from '../model.js';
import { TargetTracker } from './target-tracking.js';

export const naiveCap: PolicyFactory = (trace, config, options) => {
  const tracker = new TargetTracker(config);
  const { settings } = config;
  const { servers, proxy } = settings.services;
  const serverPerMinute = taskHourlyUsd(servers.task, settings.fargateRates) / 60;
  const fixedPerMinute =
    proxy.minCount * (taskHourlyUsd(proxy.task, settings.fargateRates) / 60) + settings.fixedOverheadUsdPerHour / 60;
  const budget = options.budgetUsd ?? Number.POSITIVE_INFINITY;
  const endMinute = trace.rps.length;
  return {
    tick(view) {
      const wanted = tracker.next(view, view.servers.desired);
      const left = Math.max(1, endMinute - view.minute);
      const affordable = Math.floor((budget - view.spendUsd - fixedPerMinute * left) / (serverPerMinute * left));
      return { servers: Math.max(servers.minCount, Math.min(wanted, affordable)) };
    },
  };
};
