import { type CloudWatchClient, type MetricDatum as CwDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { MetricDatum, MetricsSink } from '../ports/metrics-sink.js';

/** PutMetricData takes at most this many datums per call (the 1 MB payload limit is far off at our sizes). */
export const MAX_DATUMS_PER_PUT = 1000;
/** And at most this many distinct values in one datum's values/counts arrays. */
export const MAX_VALUES_PER_DATUM = 150;

/** The MetricsSink port on CloudWatch PutMetricData, in one namespace. */
export class CloudWatchSink implements MetricsSink {
  constructor(
    private readonly client: CloudWatchClient,
    readonly namespace: string,
  ) {}

  async publish(data: readonly MetricDatum[]): Promise<void> {
    for (let i = 0; i < data.length; i += MAX_DATUMS_PER_PUT) {
      const batch = data.slice(i, i + MAX_DATUMS_PER_PUT).map(toCloudWatch);
      await this.client.send(new PutMetricDataCommand({ Namespace: this.namespace, MetricData: batch }));
    }
  }
}

function toCloudWatch(d: MetricDatum): CwDatum {
  if (d.values && d.values.length > MAX_VALUES_PER_DATUM) {
    throw new RangeError(`${d.name}: ${d.values.length} values, CloudWatch takes at most ${MAX_VALUES_PER_DATUM}`);
  }
  return {
    MetricName: d.name,
    Unit: d.unit,
    Timestamp: d.timestamp,
    Dimensions: Object.entries(d.dimensions).map(([Name, Value]) => ({ Name, Value })),
    ...(d.value !== undefined ? { Value: d.value } : {}),
    ...(d.values ? { Values: [...d.values], Counts: d.counts ? [...d.counts] : undefined } : {}),
    ...(d.statistics
      ? {
          StatisticValues: {
            SampleCount: d.statistics.sampleCount,
            Sum: d.statistics.sum,
            Minimum: d.statistics.minimum,
            Maximum: d.statistics.maximum,
          },
        }
      : {}),
  };
}
