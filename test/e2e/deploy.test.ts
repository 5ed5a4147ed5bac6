/**
 * The CDK app deployed to the emulator exactly as `npm run deploy:local` does
 * it (`cdk bootstrap`, `cdk deploy --all -c emulator=true`), under a unique
 * envName with deletion protection off, then read back through the AWS APIs
 * and destroyed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CloudFormationClient, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUTOSCALER_STATE_KEYS, TABLE_KEYS } from '#core/aws/tables.js';
import { deployToEmulator, destroyOnEmulator, type StackOutputs } from '#scripts/lib/cdk.js';
import { emulatorEnv } from '#scripts/lib/emulator.js';
import { shippedConfig } from '../infra/synth.js';

const root = resolve(import.meta.dirname, '../..');
const endpoint = inject('awsEndpoint');
const env = emulatorEnv(endpoint);
const clientConfig = {
  endpoint,
  region: env.AWS_REGION,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test' },
};
const DEPLOY_TIMEOUT_MS = 6 * 60_000;

const config = { ...shippedConfig(), envName: `e2e${randomBytes(3).toString('hex')}`, deletionProtection: false };
const deployment = { root, endpoint, config, outdir: mkdtempSync(join(tmpdir(), 'ringmaster-e2e-cdk-')) };
let outputs: StackOutputs;
let deployed = false;

function output(stack: 'Data' | 'Service' | 'Monitoring', key: string): string {
  const value = outputs[`Ringmaster-${config.envName}-${stack}`]?.[key];
  if (value === undefined) throw new Error(`no output ${stack}.${key} in ${JSON.stringify(outputs)}`);
  return value;
}

/**
 * Lambda and EventBridge have no SDK client among the dependencies: their
 * read calls are made directly. Emulators do not check signatures; the
 * credential scope still tells LocalStack which service is meant.
 */
async function awsJson(service: string, path: string, init: { target?: string; body?: unknown } = {}) {
  const res = await fetch(`${endpoint}${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${env.AWS_REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      ...(init.target === undefined
        ? {}
        : { 'x-amz-target': init.target, 'content-type': 'application/x-amz-json-1.1' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${path} ${init.target ?? ''}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

describe('cdk deploy --all to the emulator', () => {
  beforeAll(async () => {
    outputs = await deployToEmulator(deployment, join(deployment.outdir, 'outputs.json'));
    deployed = true;
  }, DEPLOY_TIMEOUT_MS);

  // Only if a test failed before the last one destroyed the stacks.
  afterAll(async () => {
    if (deployed) await destroyOnEmulator(deployment);
  }, DEPLOY_TIMEOUT_MS);

  it('prints the proxy URL, the table names and the dashboard name as outputs', () => {
    expect(output('Service', 'ProxyUrl')).toMatch(/^http:\/\/\S+$/);
    for (const key of ['RingTableName', 'ShardTableName', 'MapTableName', 'RecordsTableName', 'StateTableName']) {
      expect(output('Data', key)).toContain(`Ringmaster-${config.envName}-Data-`);
    }
    expect(output('Monitoring', 'DashboardName')).toBeTruthy();
  });

  it('creates the tables with the key schemas from core', async () => {
    const dynamo = new DynamoDBClient(clientConfig);
    const expected = {
      RingTableName: TABLE_KEYS.ring,
      ShardTableName: TABLE_KEYS.shards,
      MapTableName: TABLE_KEYS.map,
      RecordsTableName: TABLE_KEYS.records,
      StateTableName: AUTOSCALER_STATE_KEYS,
    };
    for (const [key, keys] of Object.entries(expected)) {
      const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: output('Data', key) }));
      expect(Table?.KeySchema, key).toEqual(keys.KeySchema);
      expect(Table?.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST', key).toBe('PAY_PER_REQUEST');
    }
    dynamo.destroy();
  });

  it('runs the proxy and server services at their configured counts', async () => {
    const ecs = new ECSClient(clientConfig);
    const { services } = await ecs.send(
      new DescribeServicesCommand({
        cluster: output('Service', 'ClusterName'),
        services: [output('Service', 'ProxyServiceName'), output('Service', 'ServerServiceName')],
      }),
    );
    expect(services?.map((s) => [s.status, s.desiredCount, s.launchType])).toEqual([
      ['ACTIVE', config.proxy.desiredCount, 'FARGATE'],
      ['ACTIVE', config.servers.initialCount, 'FARGATE'],
    ]);
    ecs.destroy();
  });

  it('deploys the autoscaler Lambda and its every-minute EventBridge rule', async () => {
    const fn = await awsJson('lambda', `/2015-03-31/functions/${output('Service', 'AutoscalerFunctionName')}`);
    const configuration = fn.Configuration as { Handler: string; Environment: { Variables: Record<string, string> } };
    expect(configuration.Handler).toBe('index.handler');
    expect(configuration.Environment.Variables).toMatchObject({
      ENV_NAME: config.envName,
      METRICS_NAMESPACE: config.monitoring.metricsNamespace,
      CLUSTER_NAME: output('Service', 'ClusterName'),
      STATE_TABLE: output('Data', 'StateTableName'),
    });
    expect(JSON.parse(configuration.Environment.Variables.RINGMASTER_CONFIG ?? '{}').envName).toBe(config.envName);
    const rule = await awsJson('events', '/', {
      target: 'AWSEvents.DescribeRule',
      body: { Name: output('Service', 'AutoscalerRuleName') },
    });
    expect(rule).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
  });

  it('creates the dashboard', async () => {
    const cloudwatch = new CloudWatchClient(clientConfig);
    const dashboard = await cloudwatch.send(
      new GetDashboardCommand({ DashboardName: output('Monitoring', 'DashboardName') }),
    );
    expect(dashboard.DashboardBody).toContain('Desired vs running servers');
    cloudwatch.destroy();
  });

  // TODO(autoscaler issue): once functions/autoscaler/handler.ts is the real autoscaler, put load on the
  // deployed stacks (publish the proxy's contract metrics into the namespace), let the scheduled Lambda
  // fire, and assert that each service's desired count follows the load and stops where the budget ends.
  // Nothing here may fake that part: the placeholder handler throws on every tick.
  describe('the deployed autoscaler follows load and stops at the budget', () => {
    it.todo("raises each service's desired count as the published load grows");
    it.todo('stops raising it where the budget for the period ends, and reports BudgetLimited');
  });

  it(
    'cdk destroy --all removes every stack, tables included (deletion protection off)',
    async () => {
      await destroyOnEmulator(deployment);
      deployed = false;
      const cfn = new CloudFormationClient(clientConfig);
      const { StackSummaries } = await cfn.send(new ListStacksCommand({}));
      const live = (StackSummaries ?? []).filter(
        (s) => s.StackName?.startsWith(`Ringmaster-${config.envName}-`) && s.StackStatus !== 'DELETE_COMPLETE',
      );
      expect(live.map((s) => [s.StackName, s.StackStatus])).toEqual([]);
      const dynamo = new DynamoDBClient(clientConfig);
      await expect(
        dynamo.send(new DescribeTableCommand({ TableName: output('Data', 'RingTableName') })),
      ).rejects.toThrow(ResourceNotFoundException);
      dynamo.destroy();
      cfn.destroy();
    },
    DEPLOY_TIMEOUT_MS,
  );
});
