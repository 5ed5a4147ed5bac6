import type { HistogramSnapshot } from './latency-histogram.js';
import type { ProxySnapshot } from './snapshot.js';

/**
 * GET /status: the snapshot in the seed's balancers' reply envelope
 * (`{"status": "successful", "message": …}`), histograms left out (they are
 * for /metrics and CloudWatch).
 */
export function statusReport(snapshot: ProxySnapshot) {
  const { info, totals } = snapshot;
  return {
    status: 'successful',
    message: {
      takenAt: snapshot.takenAt,
      ...info,
      panic: snapshot.panic,
      membershipStats: snapshot.membership,
      ring: snapshot.ring,
      servers: snapshot.servers.map(({ latency: _histogram, ...server }) => server),
      process: snapshot.process,
      tunnels: snapshot.tunnels,
      totals: withoutHistogram(totals),
      // Absent when they do not apply (see ProxySnapshot); JSON leaves undefined out.
      hashSpace: snapshot.hashSpace,
      shards: snapshot.shards,
      autoscaler: snapshot.autoscaler,
    },
  };
}

function withoutHistogram<T extends { latency: HistogramSnapshot }>(value: T): Omit<T, 'latency'> {
  const { latency: _histogram, ...rest } = value;
  return rest;
}
