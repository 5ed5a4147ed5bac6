import {
  type CloudWatchClient,
  type Dimension,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { DIMENSIONS, PROXY_METRICS, SERVICES, type ServiceName } from '#core/telemetry/metric-names.js';
import type { RequestRateHistory, ServiceMetrics } from '../inputs.js';
import { MS_PER_DAY } from '../period.js';
import type { LoadReading, LoadSource } from '../ports.js';

const MINUTE_MS = 60_000;
/**
 * A minute bucket is read once it is this old: proxies publish every 60 s,
 * so the minute before last is the newest one every proxy has reported.
 */
export const COMPLETE_AFTER_MS = 2 * MINUTE_MS;
/**
 * History for the forecast: two weeks at five-minute resolution (4,032
 * points), the least a weekly pattern can be learned from (forecast.ts
 * starts it on the first week and smooths through the second). It fits one
 * GetMetricData call (up to 100,800 datapoints, paginated all the same), is
 * priced per metric requested and not per datapoint, and lies well inside
 * CloudWatch's retention of 5-minute data (63 days; 1-minute data is kept 15).
 */
export const HISTORY_DAYS = 14;
export const HISTORY_BUCKET_MINUTES = 5;

export interface LoadMetricsScope {
  readonly namespace: string;
  readonly environment: string;
  readonly cluster: string;
  readonly serviceNames: Readonly<Record<ServiceName, string>>;
}

/**
 * Reads a tick's load in one GetMetricData call: the proxies' request count,
 * p99 and healthy servers, ECS CPU per service, and two weeks of request
 * history. Ratios are computed here, because metric math is not available on
 * the emulator (and one call is cheaper than two).
 */
export class CloudWatchLoadReader implements LoadSource {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly scope: LoadMetricsScope,
  ) {}

  async read(nowMs: number): Promise<LoadReading> {
    const window = historyWindow(nowMs);
    const { minuteStartMs } = window;
    const results = await this.query(window.startMs, window.endMs);
    const at = (id: string) => valueAt(results.get(id), minuteStartMs);

    const requestsPerMinute = at('requests');
    const requestsPerSecond = requestsPerMinute === undefined ? undefined : requestsPerMinute / 60;
    const p99Ms = at('p99');
    // No requests, no latency sample: a missing p99 then is not missing data.
    const latencyComplete = p99Ms !== undefined || requestsPerMinute === 0;
    const service = (cpuPercent: number | undefined, tasksMeasured?: number): ServiceMetrics => ({
      requestsPerSecond,
      p99Ms,
      cpuPercent,
      tasksMeasured,
      complete: requestsPerSecond !== undefined && latencyComplete && cpuPercent !== undefined,
    });
    const healthy = at('healthy');
    const historyResult = results.get('history');
    return {
      minuteStartMs,
      services: {
        [SERVICES.proxy]: service(at('cpuproxy')),
        [SERVICES.servers]: service(at('cpuservers'), healthy === undefined ? undefined : Math.round(healthy)),
      },
      history: historyFromSums(
        (historyResult?.Timestamps ?? []).map((t) => t.getTime()),
        historyResult?.Values ?? [],
        window,
      ),
    };
  }

  private async query(startMs: number, endMs: number): Promise<Map<string, MetricDataResult>> {
    const { namespace, environment, cluster, serviceNames } = this.scope;
    const proxyDims: Dimension[] = [
      { Name: DIMENSIONS.environment, Value: environment },
      { Name: DIMENSIONS.service, Value: SERVICES.proxy },
    ];
    const stat = (Id: string, MetricName: string, Stat: string, Period = 60, Dimensions = proxyDims, ns = namespace) =>
      ({ Id, MetricStat: { Metric: { Namespace: ns, MetricName, Dimensions }, Period, Stat } }) as MetricDataQuery;
    const ecsCpu = (Id: string, service: string) =>
      stat(
        Id,
        'CPUUtilization',
        'Average',
        60,
        [
          { Name: 'ClusterName', Value: cluster },
          { Name: 'ServiceName', Value: service },
        ],
        'AWS/ECS',
      );
    const queries = [
      stat('requests', PROXY_METRICS.requests, 'Sum'),
      stat('p99', PROXY_METRICS.responseTime, 'p99'),
      stat('healthy', PROXY_METRICS.healthyServers, 'Average'),
      ecsCpu('cpuproxy', serviceNames.proxy),
      ecsCpu('cpuservers', serviceNames.servers),
      stat('history', PROXY_METRICS.requests, 'Sum', HISTORY_BUCKET_MINUTES * 60),
    ];
    const results = new Map<string, MetricDataResult>();
    let NextToken: string | undefined;
    do {
      const page = await this.client.send(
        new GetMetricDataCommand({
          StartTime: new Date(startMs),
          EndTime: new Date(endMs),
          MetricDataQueries: queries,
          NextToken,
        }),
      );
      for (const r of page.MetricDataResults ?? []) {
        if (!r.Id) continue;
        const seen = results.get(r.Id);
        results.set(
          r.Id,
          seen
            ? {
                ...seen,
                Timestamps: [...(seen.Timestamps ?? []), ...(r.Timestamps ?? [])],
                Values: [...(seen.Values ?? []), ...(r.Values ?? [])],
              }
            : r,
        );
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return results;
  }
}

/** The value of the bucket that starts at `startMs`, if CloudWatch has one. */
function valueAt(result: MetricDataResult | undefined, startMs: number): number | undefined {
  const timestamps = result?.Timestamps ?? [];
  for (let i = 0; i < timestamps.length; i++) {
    if (timestamps[i]?.getTime() === startMs) {
      const v = result?.Values?.[i];
      return v === undefined || Number.isNaN(v) ? undefined : v;
    }
  }
  return undefined;
}

/**
 * The request history a tick at `nowMs` reads: whole buckets from
 * HISTORY_DAYS back to the end of the newest complete minute. A bucket that
 * minute ends inside is left out (it is partial), so the newest bucket is
 * complete. The simulator (sim/policies/ringmaster.ts) reads through this too.
 */
export interface HistoryWindow {
  /** The newest complete minute (epoch ms of its start): the per-service figures describe it. */
  readonly minuteStartMs: number;
  /** Start of the first bucket, aligned to the bucket. */
  readonly startMs: number;
  /** End of the newest complete minute: GetMetricData's EndTime. */
  readonly endMs: number;
  readonly bucketMs: number;
}

export function historyWindow(nowMs: number): HistoryWindow {
  const minuteStartMs = Math.floor((nowMs - COMPLETE_AFTER_MS) / MINUTE_MS) * MINUTE_MS;
  const bucketMs = HISTORY_BUCKET_MINUTES * MINUTE_MS;
  const endMs = minuteStartMs + MINUTE_MS;
  const startMs = Math.floor((endMs - HISTORY_DAYS * MS_PER_DAY) / bucketMs) * bucketMs;
  return { minuteStartMs, startMs, endMs, bucketMs };
}

/**
 * Request sums per bucket (CloudWatch's Sum datapoints: each bucket's start
 * and its sum) as requests per second over the window's whole buckets, NaN
 * where a bucket has no datapoint. Datapoints outside the window, or in its
 * partial last bucket, are ignored.
 */
export function historyFromSums(
  timestampsMs: ArrayLike<number>,
  sums: ArrayLike<number>,
  window: Pick<HistoryWindow, 'startMs' | 'endMs' | 'bucketMs'>,
): RequestRateHistory {
  const { startMs, endMs, bucketMs } = window;
  const buckets = Math.max(0, Math.floor((endMs - startMs) / bucketMs));
  const requestsPerSecond = new Float64Array(buckets).fill(Number.NaN);
  for (let i = 0; i < timestampsMs.length; i++) {
    const index = Math.round(((timestampsMs[i] ?? Number.NaN) - startMs) / bucketMs);
    const v = sums[i];
    if (index >= 0 && index < buckets && v !== undefined) requestsPerSecond[index] = v / (bucketMs / 1000);
  }
  return { bucketMinutes: bucketMs / MINUTE_MS, startMs, requestsPerSecond };
}
