import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics/types';
import type { MetricDatum, MetricsSink, MetricUnit as SinkUnit } from '#core/ports/metrics-sink.js';

const UNITS: Readonly<Record<SinkUnit, PowertoolsUnit>> = {
  Count: MetricUnit.Count,
  Milliseconds: MetricUnit.Milliseconds,
  None: MetricUnit.NoUnit,
};

/**
 * The MetricsSink port on Powertools Metrics: each datum becomes one line in
 * CloudWatch's embedded metric format in the function's log, which CloudWatch
 * Logs turns into the metric. No API call in the tick, and no
 * cloudwatch:PutMetricData permission. Each datum is its own line (a single
 * metric), because the tick's data carry different dimension sets, and
 * Powertools' default `service` dimension is cleared, so the metrics are
 * exactly the ones the dashboard and alarms read.
 */
export class EmfMetricsSink implements MetricsSink {
  constructor(private readonly metrics: Metrics) {}

  async publish(data: readonly MetricDatum[]): Promise<void> {
    for (const d of data) {
      if (d.value === undefined) {
        // The tick publishes single values only; distributions go through PutMetricData (the proxy's sink).
        throw new RangeError(`${d.name}: the embedded-metric sink takes single values, not distributions`);
      }
      const single = this.metrics.singleMetric();
      single.clearDefaultDimensions();
      single.addDimensions({ ...d.dimensions });
      single.setTimestamp(d.timestamp);
      single.addMetric(d.name, UNITS[d.unit], d.value);
    }
  }
}
