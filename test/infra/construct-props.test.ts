/** Every construct validates its props first, with an exact message: one negative test each. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import { Cluster, ContainerImage, Secret as EcsSecret, FargateService } from 'aws-cdk-lib/aws-ecs';
import { ApplicationLoadBalancer, ApplicationTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { TABLE_KEYS } from '#core/aws/tables.js';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import { readAppSettings } from '#infra/config.js';
import { AdminToken } from '#infra/constructs/admin-token.js';
import { AutoscalerFunction } from '#infra/constructs/autoscaler-function.js';
import { ContractMetrics } from '#infra/constructs/contract-metrics.js';
import { CostBudget } from '#infra/constructs/cost-budget.js';
import { FargateTier } from '#infra/constructs/fargate-tier.js';
import { InitialCount } from '#infra/constructs/initial-count.js';
import { Network } from '#infra/constructs/network.js';
import { OpsAlarms } from '#infra/constructs/ops-alarms.js';
import { OpsDashboard } from '#infra/constructs/ops-dashboard.js';
import { ProxyService } from '#infra/constructs/proxy-service.js';
import { RingmasterTable } from '#infra/constructs/ringmaster-table.js';
import { cdkKeys } from '#infra/constructs/table-keys.js';
import { TierAlarms } from '#infra/constructs/tier-alarms.js';
import { acknowledgeNag } from '#infra/nag.js';
import { root, shippedConfig } from './synth.js';

const config = parseDeploymentConfig(shippedConfig());

function fixture() {
  const stack = new Stack(new App(), 'Props');
  const vpc = new Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 });
  const cluster = new Cluster(stack, 'Cluster', { vpc });
  const table = new Table(stack, 'T', { partitionKey: { name: 'id', type: AttributeType.STRING } });
  const image = ContainerImage.fromRegistry('public.ecr.aws/example/x:1');
  const tier = {
    cluster,
    image,
    cpu: 256,
    memoryMiB: 512,
    architecture: 'arm64' as const,
    desiredCount: 1,
    ports: [8080],
    taskSubnets: {},
    assignPublicIp: true,
    environment: {},
  };
  const fn = new LambdaFunction(stack, 'Fn', {
    runtime: Runtime.NODEJS_24_X,
    handler: 'x',
    code: Code.fromInline('x'),
  });
  const alarmsProps = {
    config,
    metrics: new ContractMetrics('Ringmaster', 'dev'),
    autoscaler: fn,
    action: new SnsAction(new Topic(stack, 'Topic')),
  };
  return { stack, vpc, cluster, table, image, tier, fn, alarmsProps };
}

describe('construct props', () => {
  it('RingmasterTable: TTL attribute must be an attribute name', () => {
    const { stack } = fixture();
    expect(() => new RingmasterTable(stack, 'X', { keys: TABLE_KEYS.ring, timeToLiveAttribute: 'a b' })).toThrow(
      'RingmasterTable X: timeToLiveAttribute must be an attribute name, got "a b"',
    );
  });

  it('cdkKeys: a key schema needs a HASH key with a typed attribute', () => {
    expect(() => cdkKeys({ KeySchema: [], AttributeDefinitions: [] })).toThrow('key schema: no HASH key');
    expect(() => cdkKeys({ KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [] })).toThrow(
      'key id: no attribute definition with type S, N or B',
    );
  });

  it('Network: NAT gateways within 0..maxAzs, and at least two zones', () => {
    const { stack } = fixture();
    expect(() => new Network(stack, 'N1', { natGateways: 3 })).toThrow(
      'Network: natGateways must be a whole number from 0 to maxAzs (2), got 3',
    );
    expect(() => new Network(stack, 'N2', { maxAzs: 1 })).toThrow(
      'Network: maxAzs must be at least 2 (the load balancer spans two zones), got 1',
    );
  });

  it('AdminToken: at least as long as the proxy accepts', () => {
    const { stack } = fixture();
    expect(() => new AdminToken(stack, 'A', { length: 16 })).toThrow(
      'AdminToken: length must be a whole number from 32 to 4096, got 16',
    );
  });

  it('FargateTier: stop timeout within Fargate limits, a valid count and ports, no secret also in plain environment', () => {
    const { stack, tier } = fixture();
    expect(() => new FargateTier(stack, 'F1', { ...tier, stopTimeout: Duration.seconds(200) })).toThrow(
      'FargateTier F1: stopTimeout must be 2..120 s, got 200 s',
    );
    expect(() => new FargateTier(stack, 'F2', { ...tier, desiredCount: -1 })).toThrow(
      'FargateTier F2: desiredCount must be a whole number >= 0, got -1',
    );
    expect(() => new FargateTier(stack, 'F3', { ...tier, ports: [] })).toThrow(
      'FargateTier F3: ports must be 1..65535 and at least one, got []',
    );
    const secret = EcsSecret.fromSecretsManager(new Secret(stack, 'S'));
    expect(
      () => new FargateTier(stack, 'F4', { ...tier, environment: { TOKEN: 'x' }, secrets: { TOKEN: secret } }),
    ).toThrow('FargateTier F4: TOKEN is both a secret and a plain environment value');
  });

  it('ProxyService: the admin token never as a plain value; tunnel settings whose timeouts can hold', () => {
    const { stack, tier, table } = fixture();
    const props = {
      ...tier,
      tables: { ring: table, records: { shards: table, map: table, records: table } },
      adminToken: new Secret(stack, 'Token'),
      metricsNamespace: 'Ringmaster',
      tunnels: config.proxy,
    };
    expect(() => new ProxyService(stack, 'P1', { ...props, environment: { ADMIN_TOKEN: 'x'.repeat(40) } })).toThrow(
      'ProxyService: ADMIN_TOKEN must not be a plain environment value; it comes from adminToken',
    );
    const tunnels = (change: Partial<typeof config.proxy>) => ({ ...props, tunnels: { ...config.proxy, ...change } });
    expect(() => new ProxyService(stack, 'P2', tunnels({ tunnelDrainSeconds: 101 }))).toThrow(
      /^ProxyService: tunnels\.tunnelDrainSeconds must be at most 100 s: after SIGTERM/,
    );
    expect(() => new ProxyService(stack, 'P3', tunnels({ tunnelIdleTimeoutSeconds: 4001 }))).toThrow(
      /^ProxyService: tunnels\.tunnelIdleTimeoutSeconds must be at most 4000 s: the load balancer's idle timeout/,
    );
  });

  it('AutoscalerFunction: a whole-minute schedule', () => {
    const { stack, cluster, table, tier } = fixture();
    const service = new FargateService(stack, 'Svc', {
      cluster,
      taskDefinition: new FargateTier(stack, 'Tier', tier).taskDefinition,
    });
    const bad = { ...config, autoscaler: { ...config.autoscaler, scheduleMinutes: 0.5 } };
    expect(
      () =>
        new AutoscalerFunction(stack, 'A', {
          projectRoot: root,
          config: bad,
          cluster,
          proxyService: service,
          serverService: service,
          stateTable: table,
        }),
    ).toThrow('AutoscalerFunction: scheduleMinutes must be a whole number >= 1, got 0.5');
  });

  it('OpsAlarms: an error-rate threshold in (0, 100] and 1..10 missed ticks', () => {
    const { stack, alarmsProps } = fixture();
    expect(() => new OpsAlarms(stack, 'A1', { ...alarmsProps, errorRatePercent: 0 })).toThrow(
      'OpsAlarms: errorRatePercent must be in (0, 100], got 0',
    );
    expect(() => new OpsAlarms(stack, 'A2', { ...alarmsProps, missedTicks: 0 })).toThrow(
      'OpsAlarms: missedTicks must be a whole number from 1 to 10, got 0',
    );
  });

  it('CostBudget: a positive amount; a weekly budget watched per day at a seventh (Budgets has no week)', () => {
    const { stack } = fixture();
    const topic = new Topic(stack, 'BudgetTopic');
    expect(() => new CostBudget(stack, 'B0', { envName: 'dev', budgetUsd: 0, budgetPeriod: 'month', topic })).toThrow(
      'CostBudget: budgetUsd must be positive, got 0',
    );
    const limit = (budgetPeriod: 'day' | 'week' | 'month') => {
      const budget = new CostBudget(stack, `B${budgetPeriod}`, { envName: 'dev', budgetUsd: 100, budgetPeriod, topic });
      const data = stack.resolve(budget.budget.budget) as { timeUnit: string; budgetLimit: { amount: number } };
      return [data.timeUnit, data.budgetLimit.amount];
    };
    expect(limit('day')).toEqual(['DAILY', 100]);
    expect(limit('week')).toEqual(['DAILY', 14.29]);
    expect(limit('month')).toEqual(['MONTHLY', 100]);
  });

  it('TierAlarms: a whole number of load-balancer 5xx per minute', () => {
    const { stack, cluster, image, tier, alarmsProps } = fixture();
    const service = new FargateTier(stack, 'AlarmedTier', { ...tier, cluster, image }).service;
    const alb = new ApplicationLoadBalancer(stack, 'Alb', { vpc: cluster.vpc });
    const targetGroup = new ApplicationTargetGroup(stack, 'Tg', { vpc: cluster.vpc, port: 8080 });
    expect(
      () =>
        new TierAlarms(stack, 'TierAlarmsUnderTest', {
          config,
          loadBalancer: alb,
          targetGroup,
          cluster,
          proxyService: service,
          serverService: service,
          action: alarmsProps.action,
          elb5xxPerMinute: 0,
        }),
    ).toThrow('TierAlarms: elb5xxPerMinute must be a whole number >= 1, got 0');
  });

  it('InitialCount: a whole-number count', () => {
    const { stack, cluster, image, tier } = fixture();
    const service = new FargateTier(stack, 'Counted', { ...tier, cluster, image }).service;
    expect(() => new InitialCount(stack, 'C', { cluster, service, count: 1.5 })).toThrow(
      'InitialCount C: count must be a whole number >= 0, got 1.5',
    );
  });

  it('OpsDashboard: a default interval of at least five minutes', () => {
    const { stack, alarmsProps } = fixture();
    expect(
      () =>
        new OpsDashboard(stack, 'D', {
          config,
          metrics: alarmsProps.metrics,
          autoscaler: alarmsProps.autoscaler,
          alarms: [],
          defaultInterval: Duration.minutes(1),
        }),
    ).toThrow('OpsDashboard: defaultInterval must be at least 5 minutes, got 1 minute');
  });

  it('acknowledgeNag: a real rule id and a reason that says why', () => {
    const { stack } = fixture();
    expect(() => acknowledgeNag(stack, 'IAM5', 'because it is needed here, really')).toThrow(
      'acknowledgeNag: expected a rule such as AwsSolutions-IAM5[Resource::*], got "IAM5"',
    );
    expect(() => acknowledgeNag(stack, 'AwsSolutions-IAM5', 'fine')).toThrow(
      'acknowledgeNag AwsSolutions-IAM5: the reason must say why (20+ characters)',
    );
  });

  it('readAppSettings: the emulator flag is true or false', () => {
    const app = new App({ context: { ringmaster: shippedConfig(), emulator: 'maybe' } });
    expect(() => readAppSettings(app.node)).toThrow('context emulator: expected true or false, got "maybe"');
    const json = new App({ context: { ringmaster: '{not json' } });
    expect(() => readAppSettings(json.node)).toThrow('context ringmaster: expected a JSON object');
  });
});
