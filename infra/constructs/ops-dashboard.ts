import { Duration } from 'aws-cdk-lib';
import {
  type Alarm,
  AlarmStatusWidget,
  Color,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { AUTOSCALER_METRICS, PROXY_METRICS, SERVICES, type ServiceName } from '#core/telemetry/metric-names.js';
import type { ContractMetrics } from './contract-metrics.js';

export interface OpsDashboardProps {
  readonly config: DeploymentConfig;
  readonly metrics: ContractMetrics;
  readonly autoscaler: IFunction;
  /** Shown in an alarm-status row at the top. */
  readonly alarms: readonly Alarm[];
  /**
   * Time range shown when the dashboard opens.
   * @default Duration.hours(3)
   */
  readonly defaultInterval?: Duration;
}

const WIDTH = 24;
const THIRD = WIDTH / 3;
const HALF = WIDTH / 2;
const HEIGHT = 6;

/**
 * One dashboard read top to bottom: alarms; traffic (rate, latency against
 * the SLO, errors, requests in flight and open tunnels per proxy, healthy
 * servers); capacity (desired against running per
 * tier, with the configured bounds); money (spend and projection against the
 * budget, periods the budget held a tier back); the autoscaler itself.
 */
export class OpsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: OpsDashboardProps) {
    super(scope, id);
    const interval = props.defaultInterval ?? Duration.hours(3);
    if (interval.toMinutes({ integral: false }) < 5) {
      throw new Error(`OpsDashboard: defaultInterval must be at least 5 minutes, got ${interval.toHumanString()}`);
    }
    const { config, metrics } = props;
    const budget = config.autoscaler.budgetUsd;
    const tiers: readonly [ServiceName, string, { minCount: number; maxCount: number }][] = [
      [SERVICES.proxy, 'proxies', config.proxy],
      [SERVICES.servers, 'servers', config.servers],
    ];
    const perSecond = (metric: IMetric, label: string) =>
      new MathExpression({ expression: 'm / PERIOD(m)', usingMetrics: { m: metric }, label, period: metrics.period });

    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: interval });
    this.dashboard.addWidgets(
      new TextWidget({
        width: WIDTH,
        height: 2,
        markdown:
          `# Ringmaster ${config.envName}\n` +
          `Budget **${budget} USD per ${config.autoscaler.budgetPeriod}** · p99 SLO **${config.autoscaler.p99SloMs} ms** · ` +
          `proxies ${config.proxy.minCount}..${config.proxy.maxCount} · servers ${config.servers.minCount}..${config.servers.maxCount} · ` +
          `metrics namespace \`${metrics.namespace}\``,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', width: WIDTH, height: 3, alarms: [...props.alarms] }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Requests per second (proxy)',
        width: THIRD,
        height: HEIGHT,
        left: [perSecond(metrics.proxy(PROXY_METRICS.requests, { statistic: 'Sum' }), 'requests/s')],
      }),
      new GraphWidget({
        title: 'Response time p50 / p99 (ms)',
        width: THIRD,
        height: HEIGHT,
        left: [
          metrics.proxy(PROXY_METRICS.responseTime, { statistic: 'p50', label: 'p50' }),
          metrics.proxy(PROXY_METRICS.responseTime, { statistic: 'p99', label: 'p99' }),
        ],
        leftAnnotations: [{ value: config.autoscaler.p99SloMs, label: 'p99 SLO', color: Color.RED }],
      }),
      new GraphWidget({
        title: '4xx / 5xx responses',
        width: THIRD,
        height: HEIGHT,
        left: [
          metrics.proxy(PROXY_METRICS.responses4xx, { statistic: 'Sum', label: '4xx', color: Color.ORANGE }),
          metrics.proxy(PROXY_METRICS.responses5xx, { statistic: 'Sum', label: '5xx', color: Color.RED }),
        ],
      }),
    );
    // Every proxy publishes under the same dimensions: Maximum is the busiest proxy, Average the mean one.
    const perProxy = (name: typeof PROXY_METRICS.inflight | typeof PROXY_METRICS.openTunnels) => [
      metrics.proxy(name, { statistic: 'Maximum', label: 'busiest proxy' }),
      metrics.proxy(name, { statistic: 'Average', label: 'average proxy' }),
    ];
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Requests in flight per proxy',
        width: HALF,
        height: HEIGHT,
        left: perProxy(PROXY_METRICS.inflight),
      }),
      new GraphWidget({
        title: 'Open tunnels per proxy (WebSocket and other upgrades)',
        width: HALF,
        height: HEIGHT,
        left: perProxy(PROXY_METRICS.openTunnels),
        leftAnnotations: [{ value: config.proxy.maxTunnels, label: 'proxy.maxTunnels (then 503)', color: Color.RED }],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Healthy servers (as the proxies see them)',
        width: THIRD,
        height: HEIGHT,
        left: [
          metrics.proxy(PROXY_METRICS.healthyServers, { statistic: 'Minimum', label: 'fewest seen by a proxy' }),
          metrics.proxy(PROXY_METRICS.healthyServers, { statistic: 'Maximum', label: 'most seen by a proxy' }),
        ],
        leftAnnotations: [{ value: config.servers.minCount, label: 'servers.minCount', color: Color.RED }],
      }),
      ...tiers.map(
        ([service, label, bounds]) =>
          new GraphWidget({
            title: `Desired vs running ${label}`,
            width: THIRD,
            height: HEIGHT,
            left: [
              metrics.tier(AUTOSCALER_METRICS.desiredCount, service, { statistic: 'Maximum', label: 'desired' }),
              metrics.tier(AUTOSCALER_METRICS.runningCount, service, { statistic: 'Minimum', label: 'running' }),
            ],
            leftAnnotations: [
              { value: bounds.minCount, label: 'min', color: Color.GREY },
              { value: bounds.maxCount, label: 'max', color: Color.GREY },
            ],
          }),
      ),
    );
    const spend = metrics.autoscaler(AUTOSCALER_METRICS.spendUsd, { statistic: 'Maximum', label: 'spent so far' });
    const projected = metrics.autoscaler(AUTOSCALER_METRICS.projectedSpendUsd, {
      statistic: 'Maximum',
      label: 'projected for the period',
    });
    this.dashboard.addWidgets(
      new SingleValueWidget({
        title: `Spend this ${config.autoscaler.budgetPeriod} (USD)`,
        width: THIRD,
        height: HEIGHT,
        metrics: [
          spend,
          projected,
          metrics.autoscaler(AUTOSCALER_METRICS.budgetRemainingUsd, { statistic: 'Minimum', label: 'budget left' }),
        ],
      }),
      new GraphWidget({
        title: `Spend vs budget (${budget} USD per ${config.autoscaler.budgetPeriod})`,
        width: THIRD,
        height: HEIGHT,
        left: [spend, projected],
        leftAnnotations: [
          { value: budget * 0.8, label: '80% of budget', color: Color.ORANGE },
          { value: budget, label: 'budget', color: Color.RED },
        ],
      }),
      new GraphWidget({
        title: 'Budget-limited periods (1 = held below what load asked for)',
        width: THIRD,
        height: HEIGHT,
        left: tiers.map(([service, label]) =>
          metrics.tier(AUTOSCALER_METRICS.budgetLimited, service, { statistic: 'Maximum', label }),
        ),
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Autoscaler decisions (UpdateService calls)',
        width: HALF,
        height: HEIGHT,
        left: tiers.map(([service, label]) =>
          metrics.tier(AUTOSCALER_METRICS.scaleEvents, service, { statistic: 'Sum', label }),
        ),
      }),
      new GraphWidget({
        title: 'Autoscaler ticks and errors',
        width: HALF,
        height: HEIGHT,
        left: [
          metrics.autoscaler(AUTOSCALER_METRICS.ticks, { statistic: 'Sum', label: 'ticks' }),
          metrics.autoscaler(AUTOSCALER_METRICS.errors, { statistic: 'Sum', label: 'tick errors', color: Color.RED }),
          props.autoscaler.metricErrors({ statistic: 'Sum', label: 'Lambda errors', color: Color.PURPLE }),
        ],
      }),
    );
  }
}
