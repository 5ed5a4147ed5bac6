/**
 * The CDK app deployed to the emulator exactly as `npm run deploy:local` does
 * it (`cdk bootstrap`, `cdk deploy --all -c emulator=true`), under a unique
 * envName with deletion protection off, then read back through the AWS APIs
 * and destroyed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AutoscalerStateStore, StateConflictError } from '#core/aws/autoscaler-state-store.js';
import { EcsService } from '#core/aws/ecs-service.js';
import { AUTOSCALER_STATE_KEYS, TABLE_KEYS } from '#core/aws/tables.js';
import { AUTOSCALER_METRICS, DIMENSIONS, PROXY_METRICS, SERVICES } from '#core/telemetry/metric-names.js';
import { deployToEmulator, destroyOnEmulator, type StackOutputs } from '#devkit/cdk.js';
import { emulatorEnv } from '#devkit/emulator.js';
import { repoRoot } from '#devkit/repo-root.js';
import { parseState } from '#functions/autoscaler/policy.js';
import { metricPoints } from '../helpers/cloudwatch.js';
import { startTestProxy, startTestServer, waitFor } from '../helpers/processes.js';
import { shippedConfig } from '../infra/synth.js';

const root = repoRoot();
const endpoint = inject('awsEndpoint');
const env = emulatorEnv(endpoint);
const clientConfig = {
  endpoint,
  region: env.AWS_REGION,
  credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test' },
};
const DEPLOY_TIMEOUT_MS = 6 * 60_000;

const shipped = shippedConfig();
/**
 * The shipped settings, except that one server task is sized for 2 requests per second, so the
 * test's modest load (about 20 rps for a minute) asks for more servers than the initial count.
 */
const config = {
  ...shipped,
  envName: `e2e${randomBytes(3).toString('hex')}`,
  deletionProtection: false,
  servers: { ...shipped.servers, targetRequestsPerTaskPerSecond: 2 },
};
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

  describe('the deployed autoscaler follows load and stops at the budget', () => {
    const processes: { stop(): Promise<number | null> }[] = [];
    afterAll(async () => {
      await Promise.all(processes.map((p) => p.stop()));
    });
    const store = () =>
      new AutoscalerStateStore(
        DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig)),
        output('Data', 'StateTableName'),
      );
    const servicesDesired = async () => {
      const ecs = new ECSClient(clientConfig);
      const service = new EcsService(ecs, output('Service', 'ClusterName'), output('Service', 'ServerServiceName'));
      const { desired } = await service.describe();
      ecs.destroy();
      return desired;
    };

    it(
      "raises the servers' desired count as the proxy's published load grows, from its own schedule",
      async () => {
        // The data plane runs here against the deployed tables (no containers run on the emulator).
        const tables = {
          RING_TABLE: output('Data', 'RingTableName'),
          SHARD_TABLE: output('Data', 'ShardTableName'),
          MAP_TABLE: output('Data', 'MapTableName'),
          RECORDS_TABLE: output('Data', 'RecordsTableName'),
        };
        const aws = emulatorEnv(endpoint);
        for (const id of ['d1', 'd2']) {
          processes.push(await startTestServer(id, undefined, { ...aws, RING_TABLE: tables.RING_TABLE }));
        }
        const proxy = await startTestProxy({
          ...aws,
          ...tables,
          MEMBERSHIP: 'dynamodb',
          METRICS_SINK: 'cloudwatch',
          METRICS_NAMESPACE: config.monitoring.metricsNamespace,
          METRICS_PERIOD_MS: '1000',
          ENV_NAME: config.envName,
          AUTOSCALER_STATE_TABLE: output('Data', 'StateTableName'),
          AUTOSCALER_REFRESH_MS: '1000',
        });
        processes.push(proxy);
        await waitFor(async () => (await proxy.admin('GET', '/rep')).body.message.N === 2, 10_000, 'both servers');
        // About 20 requests per second for a minute: ten tasks' worth at 2 rps per task.
        const until = Date.now() + 60_000;
        let sent = 0;
        while (Date.now() < until) {
          await Promise.all(
            Array.from({ length: 10 }, async (_, i) => {
              const res = await request(`${proxy.url}/home?request_id=${sent + i}`);
              await res.body.dump();
            }),
          );
          sent += 10;
          await new Promise((r) => setTimeout(r, 500));
        }
        // The Lambda fires every minute and reads the minute before last, so this takes a few ticks.
        const initial = config.servers.initialCount;
        await waitFor(
          async () => (await store().load()).decisions.some((d) => d.service === 'servers' && d.to > initial),
          4 * 60_000,
          'a scheduled tick to scale the servers out',
        );
        const stored = await store().load();
        const decision = stored.decisions.find((d) => d.service === 'servers' && d.to > initial);
        expect(await servicesDesired()).toBeGreaterThan(initial);
        expect(decision?.to).toBeLessThanOrEqual(
          initial * config.autoscaler.scaleOutFactor + config.autoscaler.scaleOutStep,
        );
        expect(parseState(stored.state).spendUsd).toBeGreaterThan(0);
        // The proxy shows the autoscaler's last tick on /status (and so on the balance page).
        await waitFor(
          async () => {
            const status = (await proxy.admin('GET', '/status')).body.message;
            const servers = status.autoscaler?.services?.find((x: { name: string }) => x.name === 'servers');
            return servers?.desired > initial && status.autoscaler.budget.budgetUsd === config.autoscaler.budgetUsd;
          },
          10_000,
          "the autoscaler's tick on /status",
        );
        // The metrics the dashboard charts exist.
        const cloudwatch = new CloudWatchClient(clientConfig);
        const read = async (name: string, dimensions: Record<string, string>) =>
          (
            await metricPoints(cloudwatch, {
              namespace: config.monitoring.metricsNamespace,
              name,
              dimensions,
              stat: 'Maximum',
              startMs: Date.now() - 15 * 60_000,
            })
          ).map((p) => p.value);
        const env = { [DIMENSIONS.environment]: config.envName };
        expect(
          await read(AUTOSCALER_METRICS.desiredCount, { ...env, [DIMENSIONS.service]: SERVICES.servers }),
        ).not.toEqual([]);
        expect(await read(AUTOSCALER_METRICS.spendUsd, env)).not.toEqual([]);
        expect(await read(PROXY_METRICS.requests, { ...env, [DIMENSIONS.service]: SERVICES.proxy })).not.toEqual([]);
        cloudwatch.destroy();
      },
      6 * 60_000,
    );

    it(
      'holds the servers at their minimum once the ledger reaches the budget, and says the budget limited it',
      async () => {
        // Late in the month, with all but a cent spent: the ledger item records exactly that.
        const budget = config.autoscaler.budgetUsd;
        await waitFor(
          async () => {
            const stored = await store().load();
            const state = parseState(stored.state);
            try {
              await store().commit(stored.version, { ...state, spendUsd: budget - 0.01 }, stored.decisions, []);
              return true;
            } catch (err) {
              if (err instanceof StateConflictError) return false; // a tick committed meanwhile: read again
              throw err;
            }
          },
          30_000,
          'the ledger to take the spend',
        );
        await waitFor(
          async () => (await servicesDesired()) === config.servers.minCount,
          3 * 60_000,
          'a scheduled tick to bring the servers to their minimum',
        );
        const stored = await store().load();
        expect(stored.decisions.some((d) => d.service === 'servers' && d.budgetLimited)).toBe(true);
        expect(parseState(stored.state).spendUsd).toBeLessThanOrEqual(budget);
      },
      4 * 60_000,
    );
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
