import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import { AUTOSCALER_METRICS, PROXY_METRICS } from '#core/telemetry/metric-names.js';
import { ContractMetrics } from '#infra/constructs/contract-metrics.js';
import { OpsAlarms } from '#infra/constructs/ops-alarms.js';
import { type Synthesized, shippedConfig, synthesize } from './synth.js';

let s: Synthesized;
let body: { widgets: { type: string; properties: Record<string, unknown> }[] };

beforeAll(() => {
  const config = shippedConfig();
  config.monitoring = { ...config.monitoring, alarmEmail: 'ops@example.com' };
  s = synthesize({ config });
  const [dashboard] = Object.values(s.monitoring.findResources('AWS::CloudWatch::Dashboard'));
  // The body is a Fn::Join of JSON text and tokens (region, alarm ARNs); the tokens sit inside strings.
  if (dashboard === undefined) throw new Error('no dashboard');
  const parts = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  body = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
}, 120_000);

type Alarm = { Properties: Record<string, unknown> };

function alarm(prefix: string): Record<string, unknown> {
  const found = Object.entries(s.monitoring.findResources('AWS::CloudWatch::Alarm')).find(([id]) =>
    id.startsWith(`Alarms${prefix}`),
  );
  if (found === undefined) throw new Error(`no alarm ${prefix}`);
  return (found[1] as Alarm).Properties;
}

/** Every [namespace, metricName, ...dimensions] a widget charts. */
function chartedMetrics(): string[][] {
  return body.widgets.flatMap(
    (w) => ((w.properties.metrics ?? []) as unknown[][]).filter((m) => typeof m[0] === 'string') as string[][],
  );
}

describe('dashboard', () => {
  it('charts every contract metric an operator needs, by the names in core', () => {
    const names = new Set(chartedMetrics().map((m) => m[1]));
    for (const name of [
      PROXY_METRICS.requests,
      PROXY_METRICS.inflight,
      PROXY_METRICS.openTunnels,
      PROXY_METRICS.responseTime,
      PROXY_METRICS.responses4xx,
      PROXY_METRICS.responses5xx,
      PROXY_METRICS.healthyServers,
      AUTOSCALER_METRICS.desiredCount,
      AUTOSCALER_METRICS.runningCount,
      AUTOSCALER_METRICS.spendUsd,
      AUTOSCALER_METRICS.projectedSpendUsd,
      AUTOSCALER_METRICS.budgetRemainingUsd,
      AUTOSCALER_METRICS.budgetLimited,
      AUTOSCALER_METRICS.scaleEvents,
      AUTOSCALER_METRICS.ticks,
      AUTOSCALER_METRICS.errors,
    ]) {
      expect(names, name).toContain(name);
    }
    for (const m of chartedMetrics().filter((m) => m[0] === 'Ringmaster')) {
      expect(m.slice(2, 4), m[1]).toEqual(['Environment', s.config.envName]);
    }
  });

  it('has the widgets an operator reads at a glance, with thresholds from the config', () => {
    const titles = body.widgets.map((w) => w.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Alarms',
        'Requests per second (proxy)',
        'Response time p50 / p99 (ms)',
        '4xx / 5xx responses',
        'Requests in flight per proxy',
        'Open tunnels per proxy (WebSocket and other upgrades)',
        'Healthy servers (as the proxies see them)',
        'Desired vs running proxies',
        'Desired vs running servers',
        'Spend this month (USD)',
        'Spend vs budget (150 USD per month)',
        'Budget-limited periods (1 = held below what load asked for)',
        'Autoscaler decisions (UpdateService calls)',
        'Autoscaler ticks and errors',
      ]),
    );
    const latency = body.widgets.find((w) => w.properties.title === 'Response time p50 / p99 (ms)');
    expect(JSON.stringify(latency?.properties.metrics)).toMatch(/"stat":"p50".*"stat":"p99"/);
    expect(latency?.properties.annotations).toEqual({
      horizontal: [expect.objectContaining({ value: s.config.autoscaler.p99SloMs })],
    });
    const spend = body.widgets.find((w) => String(w.properties.title).startsWith('Spend vs budget'));
    expect(
      (spend?.properties.annotations as { horizontal: { value: number }[] } | undefined)?.horizontal.map(
        (a) => a.value,
      ),
    ).toEqual([120, 150]);
    const alarms = body.widgets.find((w) => w.properties.title === 'Alarms');
    expect(alarms?.properties.alarms).toHaveLength(14);
  });

  it('charts in-flight requests and open tunnels side by side, per proxy (Maximum and Average), against the cap', () => {
    const widget = (title: string) => body.widgets.find((w) => w.properties.title === title);
    const inflight = widget('Requests in flight per proxy');
    const tunnels = widget('Open tunnels per proxy (WebSocket and other upgrades)');
    // The CDK leaves out the graph's default statistic, Average.
    const charted = (w: typeof inflight) =>
      ((w?.properties.metrics ?? []) as unknown[][]).map((m) => [
        m[1],
        (m.at(-1) as { stat?: string }).stat ?? 'Average',
      ]);
    expect(charted(inflight)).toEqual([
      [PROXY_METRICS.inflight, 'Maximum'],
      [PROXY_METRICS.inflight, 'Average'],
    ]);
    expect(charted(tunnels)).toEqual([
      [PROXY_METRICS.openTunnels, 'Maximum'],
      [PROXY_METRICS.openTunnels, 'Average'],
    ]);
    expect(JSON.stringify(tunnels?.properties.metrics)).toContain('"Service","proxy"');
    expect(tunnels?.properties.annotations).toEqual({
      horizontal: [expect.objectContaining({ value: s.config.proxy.maxTunnels })],
    });
    // Next to each other, on one row.
    expect(body.widgets.indexOf(tunnels as (typeof body.widgets)[number])).toBe(
      body.widgets.indexOf(inflight as (typeof body.widgets)[number]) + 1,
    );
  });
});

describe('alarms', () => {
  it('pages on p99 over the SLO', () => {
    expect(alarm('P99OverSlo')).toMatchObject({
      MetricName: PROXY_METRICS.responseTime,
      Namespace: 'Ringmaster',
      ExtendedStatistic: 'p99',
      Threshold: s.config.autoscaler.p99SloMs,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [
        { Name: 'Environment', Value: 'dev' },
        { Name: 'Service', Value: 'proxy' },
      ],
    });
  });

  it('pages on the 5xx rate, a ratio of the contract counts', () => {
    const a = alarm('ErrorRate');
    expect(a.Threshold).toBe(1);
    const metrics = a.Metrics as Record<string, unknown>[];
    expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toBe(
      'IF(requests > 0, 100 * errors / requests, 0)',
    );
    expect(JSON.stringify(metrics)).toContain(`"MetricName":"${PROXY_METRICS.responses5xx}"`);
    expect(JSON.stringify(metrics)).toContain(`"MetricName":"${PROXY_METRICS.requests}"`);
  });

  it('pages when a proxy sees fewer healthy servers than servers.minCount', () => {
    expect(alarm('UnhealthyServers')).toMatchObject({
      MetricName: PROXY_METRICS.healthyServers,
      Statistic: 'Minimum',
      Threshold: s.config.servers.minCount,
      ComparisonOperator: 'LessThanThreshold',
    });
  });

  it('pages on autoscaler errors, Lambda errors and missed ticks (a missing tick counts as breaching)', () => {
    expect(alarm('AutoscalerErrors')).toMatchObject({ MetricName: AUTOSCALER_METRICS.errors, Threshold: 1 });
    expect(alarm('AutoscalerFunctionErrors')).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors' });
    expect(alarm('MissedTicks')).toMatchObject({
      MetricName: AUTOSCALER_METRICS.ticks,
      Period: 60,
      EvaluationPeriods: 3,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('pages at 80% and 100% of the budget', () => {
    for (const [name, fraction] of [
      ['Spend80', 0.8],
      ['Spend100', 1],
    ] as const) {
      expect(alarm(name), name).toMatchObject({
        MetricName: AUTOSCALER_METRICS.spendUsd,
        Statistic: 'Maximum',
        Threshold: s.config.autoscaler.budgetUsd * fraction,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('pages when the busiest proxy holds 90% of proxy.maxTunnels open for 3 of 5 minutes', () => {
    expect(alarm('TunnelsNearLimit')).toMatchObject({
      MetricName: PROXY_METRICS.openTunnels,
      Namespace: 'Ringmaster',
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 9000,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      Dimensions: [
        { Name: 'Environment', Value: 'dev' },
        { Name: 'Service', Value: 'proxy' },
      ],
    });
    expect(s.config.proxy.maxTunnels).toBe(10_000);
  });

  it('has no tunnel alarm when proxy.maxTunnels is 0 (the proxies carry no tunnels)', () => {
    const stack = new Stack(new App(), 'NoTunnels');
    const config = parseDeploymentConfig({ ...shippedConfig(), proxy: { ...shippedConfig().proxy, maxTunnels: 0 } });
    const alarms = new OpsAlarms(stack, 'Alarms', {
      config,
      metrics: new ContractMetrics('Ringmaster', 'dev'),
      autoscaler: new LambdaFunction(stack, 'Fn', {
        runtime: Runtime.NODEJS_24_X,
        handler: 'x',
        code: Code.fromInline('x'),
      }),
      action: new SnsAction(new Topic(stack, 'Topic')),
    });
    expect(alarms.tunnelsNearLimit).toBeUndefined();
    expect(alarms.all).toHaveLength(9);
    const names = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties.MetricName,
    );
    expect(names).toHaveLength(9);
    expect(names).not.toContain(PROXY_METRICS.openTunnels);
  });

  it('sends every alarm and recovery to one SNS topic, with the configured email subscribed', () => {
    s.monitoring.resourceCountIs('AWS::CloudWatch::Alarm', 14);
    const [topic] = Object.keys(s.monitoring.findResources('AWS::SNS::Topic'));
    s.monitoring.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
    });
    s.monitoring.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    s.monitoring.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets CloudWatch, and only for alarms of this account, publish to the topic', () => {
    const [topic] = Object.keys(s.monitoring.findResources('AWS::SNS::Topic'));
    s.monitoring.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topic },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ]),
      },
    });
  });
});

describe("alarms on AWS's own metrics (a dead proxy tier publishes nothing)", () => {
  const tierAlarm = (name: string) => {
    const found = Object.entries(s.monitoring.findResources('AWS::CloudWatch::Alarm')).find(([id]) =>
      id.startsWith(`TierAlarms${name}`),
    );
    if (found === undefined) throw new Error(`no alarm ${name}`);
    return (found[1] as Alarm).Properties;
  };
  const dimension = (a: Record<string, unknown>, name: string) =>
    (a.Dimensions as { Name: string; Value: unknown }[]).find((d) => d.Name === name)?.Value;

  it("pages when the load balancer's healthy proxies fall below proxy.minCount, missing data included", () => {
    const a = tierAlarm('HealthyProxies');
    expect(a).toMatchObject({
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HealthyHostCount',
      Statistic: 'Minimum',
      Threshold: s.config.proxy.minCount,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(JSON.stringify(dimension(a, 'TargetGroup'))).toContain('TargetGroupFullName');
    expect(JSON.stringify(dimension(a, 'LoadBalancer'))).toContain('ProxyLoadBalancer');
  });

  it('pages on 5xx the load balancer returns itself', () => {
    expect(tierAlarm('LoadBalancer5xx')).toMatchObject({
      Namespace: 'AWS/ApplicationELB',
      MetricName: 'HTTPCode_ELB_5XX_Count',
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it("pages when either tier runs fewer tasks than its minimum (Container Insights' RunningTaskCount)", () => {
    for (const [name, min, service] of [
      ['ProxiesRunning', s.config.proxy.minCount, 'ProxyService'],
      ['ServersRunning', s.config.servers.minCount, 'ServersService'],
    ] as const) {
      const a = tierAlarm(name);
      expect(a, name).toMatchObject({
        Namespace: 'ECS/ContainerInsights',
        MetricName: 'RunningTaskCount',
        Statistic: 'Minimum',
        Threshold: min,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
      expect(JSON.stringify(dimension(a, 'ServiceName')), name).toContain(service);
      expect(JSON.stringify(dimension(a, 'ClusterName')), name).toContain('Cluster');
    }
    // RunningTaskCount exists only with Container Insights on the cluster.
    s.service.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });
});

describe('the AWS Budgets backstop', () => {
  it('budgets the configured dollars per period over what carries the cost-allocation tag, telling the topic at 80% and 100%', () => {
    s.monitoring.resourceCountIs('AWS::Budgets::Budget', 1);
    const [topic] = Object.keys(s.monitoring.findResources('AWS::SNS::Topic'));
    s.monitoring.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: {
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: s.config.autoscaler.budgetUsd, Unit: 'USD' },
        FilterExpression: { Tags: { Key: 'ringmaster-env', Values: [s.config.envName], MatchOptions: ['EQUALS'] } },
      },
      NotificationsWithSubscribers: [80, 100].map((threshold) => ({
        Notification: {
          NotificationType: 'ACTUAL',
          ComparisonOperator: 'GREATER_THAN',
          Threshold: threshold,
          ThresholdType: 'PERCENTAGE',
        },
        Subscribers: [{ SubscriptionType: 'SNS', Address: { Ref: topic } }],
      })),
    });
  });

  it('lets budgets.amazonaws.com publish to the topic, for this account only', () => {
    s.monitoring.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'BudgetsPublish',
            Effect: 'Allow',
            Principal: { Service: 'budgets.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('tags every taggable resource of every stack, and the tasks through their service, with the budget tag', () => {
    const tag = { Key: 'ringmaster-env', Value: s.config.envName };
    const billed = new Set<string>();
    for (const template of [s.data, s.service, s.monitoring]) {
      const resources = template.toJSON().Resources as Record<
        string,
        { Type: string; Properties?: Record<string, unknown> }
      >;
      for (const [id, r] of Object.entries(resources)) {
        const tags = r.Properties?.Tags;
        if (tags === undefined) continue;
        billed.add(r.Type);
        expect(tags, id).toEqual(expect.arrayContaining([tag]));
      }
    }
    // What bills, at least, carries it.
    for (const type of [
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::ECS::Service',
      'AWS::DynamoDB::Table',
      'AWS::Lambda::Function',
      'AWS::Logs::LogGroup',
      'AWS::SecretsManager::Secret',
      'AWS::CloudWatch::Alarm',
      'AWS::EC2::VPC',
    ]) {
      expect(billed, type).toContain(type);
    }
    s.service.allResourcesProperties('AWS::ECS::Service', { PropagateTags: 'SERVICE' });
  });
});
