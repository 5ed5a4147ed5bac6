import { Duration } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import {
  type AUTOSCALER_METRICS,
  DIMENSIONS,
  type PROXY_METRICS,
  SERVICES,
  type ServiceName,
} from '#core/telemetry/metric-names.js';

type ProxyMetric = (typeof PROXY_METRICS)[keyof typeof PROXY_METRICS];
type AutoscalerMetric = (typeof AUTOSCALER_METRICS)[keyof typeof AUTOSCALER_METRICS];

/**
 * CloudWatch metrics by the names in core's contract (the names the proxy
 * publishes and the autoscaler emits), for one deployment's namespace and
 * Environment dimension. The dashboard and the alarms build every metric of
 * their own through this, never from a string of their own.
 */
export class ContractMetrics {
  constructor(
    readonly namespace: string,
    readonly envName: string,
    readonly period: Duration = Duration.minutes(1),
  ) {}

  /** A proxy-published metric (Service=proxy). */
  proxy(name: ProxyMetric, options: MetricOptions = {}): Metric {
    return this.metric(name, { [DIMENSIONS.service]: SERVICES.proxy }, options);
  }

  /** An autoscaler metric for one tier (DesiredCount, RunningCount, BudgetLimited, ScaleEvents). */
  tier(name: AutoscalerMetric, service: ServiceName, options: MetricOptions = {}): Metric {
    return this.metric(name, { [DIMENSIONS.service]: service }, options);
  }

  /** An autoscaler metric for the deployment as a whole (spend, ticks, errors). */
  autoscaler(name: AutoscalerMetric, options: MetricOptions = {}): Metric {
    return this.metric(name, {}, options);
  }

  private metric(name: string, dimensions: Record<string, string>, options: MetricOptions): Metric {
    return new Metric({
      namespace: this.namespace,
      metricName: name,
      period: this.period,
      ...options,
      dimensionsMap: { [DIMENSIONS.environment]: this.envName, ...dimensions, ...options.dimensionsMap },
    });
  }
}
