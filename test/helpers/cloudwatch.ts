import { type CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';

export interface MetricQuery {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
  /** Bucket length in seconds. @default 60 */
  readonly periodSeconds?: number;
  /** The window read back. @default the last 10 minutes (and one ahead, for clock skew) */
  readonly startMs?: number;
  readonly endMs?: number;
}

/** One metric's datapoints as the tests read them back from CloudWatch (or the emulator): bucket start and value. */
export async function metricPoints(client: CloudWatchClient, q: MetricQuery): Promise<{ at: number; value: number }[]> {
  const endMs = q.endMs ?? Date.now() + 60_000;
  const out = await client.send(
    new GetMetricDataCommand({
      StartTime: new Date(q.startMs ?? endMs - 11 * 60_000),
      EndTime: new Date(endMs),
      MetricDataQueries: [
        {
          Id: 'm',
          MetricStat: {
            Metric: {
              Namespace: q.namespace,
              MetricName: q.name,
              Dimensions: Object.entries(q.dimensions).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: q.periodSeconds ?? 60,
            Stat: q.stat,
          },
        },
      ],
    }),
  );
  const r = out.MetricDataResults?.[0];
  return (r?.Timestamps ?? []).map((t, i) => ({ at: t.getTime(), value: r?.Values?.[i] ?? Number.NaN }));
}
