import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  type IAlarmAction,
  MathExpression,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { AUTOSCALER_METRICS, PROXY_METRICS } from '#core/telemetry/metric-names.js';
import type { ContractMetrics } from './contract-metrics.js';

export interface OpsAlarmsProps {
  readonly config: DeploymentConfig;
  readonly metrics: ContractMetrics;
  /** The autoscaler Lambda, for its own error count. */
  readonly autoscaler: IFunction;
  /** Where every alarm (and its recovery) is sent. */
  readonly action: IAlarmAction;
  /**
   * 5xx responses as a percentage of all responses that raises the alarm.
   * @default 1
   */
  readonly errorRatePercent?: number;
  /**
   * Consecutive autoscaler schedule periods without a tick that raise the alarm.
   * @default 3
   */
  readonly missedTicks?: number;
}

/**
 * Share of proxy.maxTunnels at which a proxy's open tunnels page: near the cap, new upgrades are about
 * to get 503, and the autoscaler sizes the proxies by requests and CPU, not by tunnels.
 */
export const TUNNELS_NEAR_LIMIT_FRACTION = 0.9;

/** The alarms an operator is paged for, each with its threshold from the deployment config. */
export class OpsAlarms extends Construct {
  readonly p99: Alarm;
  readonly errorRate: Alarm;
  readonly unhealthyServers: Alarm;
  readonly autoscalerErrors: Alarm;
  readonly autoscalerFunctionErrors: Alarm;
  readonly missedTicks: Alarm;
  readonly spend80: Alarm;
  readonly spend100: Alarm;
  readonly belowMinimum: Alarm;
  /** Absent when proxy.maxTunnels is 0 (no tunnels at all). */
  readonly tunnelsNearLimit: Alarm | undefined;

  constructor(scope: Construct, id: string, props: OpsAlarmsProps) {
    super(scope, id);
    const errorRatePercent = props.errorRatePercent ?? 1;
    if (!(errorRatePercent > 0 && errorRatePercent <= 100)) {
      throw new Error(`OpsAlarms: errorRatePercent must be in (0, 100], got ${errorRatePercent}`);
    }
    const missed = props.missedTicks ?? 3;
    if (!Number.isInteger(missed) || missed < 1 || missed > 10) {
      throw new Error(`OpsAlarms: missedTicks must be a whole number from 1 to 10, got ${missed}`);
    }
    const { config, metrics } = props;
    const env = config.envName;
    const budget = config.autoscaler.budgetUsd;
    const tick = Duration.minutes(config.autoscaler.scheduleMinutes);
    const alarm = (name: string, alarmProps: AlarmProps) => {
      const created = new Alarm(this, name, alarmProps);
      created.addAlarmAction(props.action);
      created.addOkAction(props.action);
      return created;
    };

    this.p99 = alarm('P99OverSlo', {
      alarmDescription: `Ringmaster ${env}: proxy p99 over the ${config.autoscaler.p99SloMs} ms SLO for 3 of 5 minutes`,
      metric: metrics.proxy(PROXY_METRICS.responseTime, { statistic: 'p99' }),
      threshold: config.autoscaler.p99SloMs,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.errorRate = alarm('ErrorRate', {
      alarmDescription: `Ringmaster ${env}: 5xx responses over ${errorRatePercent}% of requests for 3 of 5 minutes`,
      metric: new MathExpression({
        expression: 'IF(requests > 0, 100 * errors / requests, 0)',
        usingMetrics: {
          errors: metrics.proxy(PROXY_METRICS.responses5xx, { statistic: 'Sum' }),
          requests: metrics.proxy(PROXY_METRICS.requests, { statistic: 'Sum' }),
        },
        label: '5xx %',
        period: metrics.period,
      }),
      threshold: errorRatePercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.unhealthyServers = alarm('UnhealthyServers', {
      alarmDescription: `Ringmaster ${env}: a proxy sees fewer than ${config.servers.minCount} healthy servers (servers.minCount) for 3 minutes`,
      metric: metrics.proxy(PROXY_METRICS.healthyServers, { statistic: 'Minimum' }),
      threshold: config.servers.minCount,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.MISSING,
    });
    this.autoscalerErrors = alarm('AutoscalerErrors', {
      alarmDescription: `Ringmaster ${env}: an autoscaler tick failed to read metrics or to update ECS`,
      metric: metrics.autoscaler(AUTOSCALER_METRICS.errors, { statistic: 'Sum', period: tick }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.autoscalerFunctionErrors = alarm('AutoscalerFunctionErrors', {
      alarmDescription: `Ringmaster ${env}: the autoscaler Lambda threw or timed out`,
      metric: props.autoscaler.metricErrors({ period: tick, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.missedTicks = alarm('MissedTicks', {
      alarmDescription: `Ringmaster ${env}: no completed autoscaler tick for ${missed} schedule periods`,
      metric: metrics.autoscaler(AUTOSCALER_METRICS.ticks, { statistic: 'Sum', period: tick }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: missed,
      // No datapoint is exactly what a missed tick looks like.
      treatMissingData: TreatMissingData.BREACHING,
    });
    const spend = (name: string, fraction: number) =>
      alarm(name, {
        alarmDescription: `Ringmaster ${env}: spend this ${config.autoscaler.budgetPeriod} reached ${fraction * 100}% of the ${budget} USD budget`,
        metric: metrics.autoscaler(AUTOSCALER_METRICS.spendUsd, { statistic: 'Maximum', period: Duration.minutes(5) }),
        threshold: budget * fraction,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.spend80 = spend('Spend80', 0.8);
    this.spend100 = spend('Spend100', 1);
    // The budget can no longer pay the minimum counts to the period's end: the tiers stay at their
    // minimum (availability first, see docs/autoscaler-budget.md) and the overrun is certain unless
    // an operator lowers the minimums or raises the budget.
    this.belowMinimum = alarm('BelowMinimum', {
      alarmDescription: `Ringmaster ${env}: the money left of the ${budget} USD budget cannot pay the minimum counts to the end of the ${config.autoscaler.budgetPeriod}; the tiers stay at their minimum and spend will pass the budget`,
      metric: metrics.autoscaler(AUTOSCALER_METRICS.belowMinimum, { statistic: 'Maximum', period: tick }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const maxTunnels = config.proxy.maxTunnels;
    this.tunnelsNearLimit =
      maxTunnels === 0
        ? undefined
        : alarm('TunnelsNearLimit', {
            alarmDescription:
              `Ringmaster ${env}: a proxy has had ${TUNNELS_NEAR_LIMIT_FRACTION * 100}% or more of its ${maxTunnels} ` +
              'tunnels (proxy.maxTunnels) open for 3 of 5 minutes; beyond the cap new upgrades get 503: add proxies or raise the cap',
            // Maximum: the busiest proxy (every proxy publishes under the same dimensions).
            metric: metrics.proxy(PROXY_METRICS.openTunnels, { statistic: 'Maximum' }),
            threshold: Math.ceil(maxTunnels * TUNNELS_NEAR_LIMIT_FRACTION),
            comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 5,
            datapointsToAlarm: 3,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          });
  }

  get all(): Alarm[] {
    return [
      this.p99,
      this.errorRate,
      this.unhealthyServers,
      this.autoscalerErrors,
      this.autoscalerFunctionErrors,
      this.missedTicks,
      this.spend80,
      this.spend100,
      this.belowMinimum,
      ...(this.tunnelsNearLimit === undefined ? [] : [this.tunnelsNearLimit]),
    ];
  }
}
