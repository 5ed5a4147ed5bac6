import type { MembershipSource } from '#core/ports/membership.js';
import type { Fleet } from '../fleet/fleet.js';
import type { RetryBudget } from '../forwarding/retry-budget.js';
import type { ProxyMetrics } from './metrics.js';

/** Static facts /status repeats. */
export interface StatusInfo {
  readonly strategy: string;
  readonly hashKey: string;
  readonly membership: string;
  readonly scaler: string;
}

/** GET /status: strategy, ring summary, per-server state, totals and health. */
export function statusReport(
  fleet: Fleet,
  metrics: ProxyMetrics,
  budget: RetryBudget,
  info: StatusInfo,
  membership: MembershipSource,
) {
  const now = Date.now();
  const servers = fleet.list().map((b) => ({
    id: b.id,
    address: b.address,
    status: b.status,
    weight: b.weight,
    effectiveWeight: b.effectiveWeight,
    available: b.available,
    healthy: b.healthy,
    ejectedForMs: b.isEjected(now) ? b.ejectedUntil - now : 0,
    inflight: b.inflight,
    requests: b.requests,
    upstreamErrors: b.upstreamErrors,
    responses: {
      '2xx': b.statusClassCounts[2],
      '3xx': b.statusClassCounts[3],
      '4xx': b.statusClassCounts[4],
      '5xx': b.statusClassCounts[5],
    },
    latencyEwmaMs: Number.isNaN(b.latencyEwmaMs) ? null : b.latencyEwmaMs,
    load: { cpu: b.cpu, memory: b.memory },
  }));
  const healthy = servers.filter((s) => s.status === 'active' && s.healthy && s.ejectedForMs === 0).length;
  return {
    status: 'successful',
    message: {
      ...info,
      panic: fleet.panic,
      membershipStats: membership.stats?.() ?? {},
      ring: {
        algorithm: fleet.strategy.name,
        members: servers.filter((s) => s.status === 'active').length,
        healthy,
      },
      servers,
      totals: {
        requests: metrics.requests,
        inflight: fleet.load.inflight,
        responses: {
          proxy: metrics.statusClassCounts[0],
          '2xx': metrics.statusClassCounts[2],
          '3xx': metrics.statusClassCounts[3],
          '4xx': metrics.statusClassCounts[4],
          '5xx': metrics.statusClassCounts[5],
        },
        retries: metrics.retries,
        retryBudgetExhausted: budget.exhausted,
        clientAborts: metrics.clientAborts,
        noHealthyServer: metrics.noHealthyServer,
        ejections: fleet.ejectionsTotal,
        p50Ms: metrics.quantileMs(0.5),
        p99Ms: metrics.quantileMs(0.99),
      },
    },
  };
}
