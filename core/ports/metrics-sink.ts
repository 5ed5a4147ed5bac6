/**
 * Where periodic figures go. On AWS a CloudWatch sink (core/aws/cloudwatch-sink.ts)
 * publishes them for the autoscaler and the dashboard; locally they stay on
 * the admin API's /metrics and nothing is published.
 */
export type MetricUnit = 'Count' | 'Milliseconds' | 'None';

export interface MetricDatum {
  readonly name: string;
  readonly unit: MetricUnit;
  readonly timestamp: Date;
  readonly dimensions: Readonly<Record<string, string>>;
  /** One value, or a distribution as values with counts (percentiles can be read back from these). */
  readonly value?: number;
  readonly values?: readonly number[];
  readonly counts?: readonly number[];
  /** A summary when only sample count, sum, min and max are known (no percentiles). */
  readonly statistics?: {
    readonly sampleCount: number;
    readonly sum: number;
    readonly minimum: number;
    readonly maximum: number;
  };
}

export interface MetricsSink {
  /** Publishes every datum or throws; the caller keeps what failed and tries again. */
  publish(data: readonly MetricDatum[]): Promise<void>;
}
