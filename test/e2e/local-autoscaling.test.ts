import { randomBytes } from 'node:crypto';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { EcsService } from '#core/aws/ecs-service.js';
import type { MetricDatum } from '#core/ports/metrics-sink.js';
import { DIMENSIONS, PROXY_METRICS, SERVICES } from '#core/telemetry/metric-names.js';
import { createLocalServices } from '#devkit/local-ecs.js';
import { FOLLOWER_COMPARED } from '#scripts/local/ecs-follower.js';
import { readLocalSettings } from '#scripts/local/local-settings.js';
import { awsEnv, clientConfig, createTestTables, type TestTables } from '../helpers/aws.js';
import { metricPoints } from '../helpers/cloudwatch.js';
import { ROOT, spawnUntil, startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';

const MINUTE_MS = 60_000;

/** Comparisons the proxy's ECS follower has logged so far (it logs one per round at debug level). */
const followerComparisons = (proxy: Pick<TestProxy, 'lines'>) =>
  proxy.lines.filter((line) => line.includes(FOLLOWER_COMPARED)).length;

const replicas = async (proxy: Pick<TestProxy, 'admin'>) => (await proxy.admin('GET', '/rep')).body.message;

describe('server processes standing in for ECS tasks (SCALER=local-ecs)', () => {
  const endpoint = inject('awsEndpoint');
  const cluster = `rm-local-${randomBytes(3).toString('hex')}`;
  const ecs = new ECSClient(clientConfig(endpoint));
  const cloudWatch = new CloudWatchClient(clientConfig(endpoint));
  const servers = new EcsService(ecs, cluster, SERVICES.servers);
  let tables: TestTables;
  let proxy: TestProxy;

  beforeAll(async () => {
    tables = await createTestTables('localecs', endpoint);
    await createLocalServices(ecs, cluster, [
      { name: SERVICES.proxy, cpu: 512, memoryMiB: 1024, desiredCount: 1 },
      { name: SERVICES.servers, cpu: 256, memoryMiB: 512, desiredCount: 2 },
    ]);
    proxy = await startTestProxy({
      ...awsEnv(endpoint),
      ...tables.env,
      MEMBERSHIP: 'dynamodb',
      SCALER: 'local-ecs',
      ECS_CLUSTER: cluster,
      ECS_SERVER_SERVICE: SERVICES.servers,
      ECS_PROXY_SERVICE: SERVICES.proxy,
      INITIAL_SERVERS: '2',
      METRICS_PERIOD_MS: '1000',
      // The follower's rounds are debug lines; the test counts them rather than sleeping.
      LOG_LEVEL: 'debug',
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await tables?.drop();
  });

  it('follows the service when its count changes, and /add and /rm write the count back', async () => {
    expect(await replicas(proxy)).toEqual({ N: 2, replicas: ['s1', 's2'] });
    // What the autoscaler does: UpdateService. The processes follow, with fresh names.
    await servers.setDesiredCount(4);
    await waitFor(async () => (await replicas(proxy)).N === 4, 30_000, 'two servers to start and register');
    expect((await replicas(proxy)).replicas).toEqual(['s1', 's2', 's3', 's4']);

    // The seeds' named /add still works, and the service learns the new count.
    const added = await proxy.admin('POST', '/add', { n: 1, hostnames: ['alice'] });
    expect(added.status).toBe(200);
    expect((await servers.describe()).desired).toBe(5);
    const removed = await proxy.admin('DELETE', '/rm', { n: 1, hostnames: ['alice'] });
    expect(removed.status).toBe(200);
    expect((await servers.describe()).desired).toBe(4);
    // Two follower comparisons after the /rm pass (each logs one debug line); the admin changes are not undone.
    const comparedAfterRm = followerComparisons(proxy) + 2;
    await waitFor(async () => followerComparisons(proxy) >= comparedAfterRm, 15_000, 'two follower rounds');
    expect((await replicas(proxy)).replicas).toEqual(['s1', 's2', 's3', 's4']);
    expect((await servers.describe()).desired).toBe(4);

    // Scale-in: the newest servers are drained and stopped.
    await servers.setDesiredCount(2);
    await waitFor(async () => (await replicas(proxy)).N === 2, 30_000, 'two servers to drain and stop');
    expect((await replicas(proxy)).replicas).toEqual(['s1', 's2']);
    const home = await request(`${proxy.url}/home`);
    expect(home.statusCode).toBe(200);
    await home.body.dump();
  }, 90_000);

  it("publishes the processes' CPU as AWS/ECS CPUUtilization, which the autoscaler reads", async () => {
    const cpu = (service: string) =>
      metricPoints(cloudWatch, {
        namespace: 'AWS/ECS',
        name: 'CPUUtilization',
        dimensions: { ClusterName: cluster, ServiceName: service },
        stat: 'Average',
      });
    await waitFor(
      async () => (await cpu(SERVICES.servers)).length > 0 && (await cpu(SERVICES.proxy)).length > 0,
      15_000,
      'CPU for both services',
    );
    for (const service of [SERVICES.servers, SERVICES.proxy]) {
      for (const p of await cpu(service)) {
        // At most both cores, against a quarter or half a vCPU reserved.
        expect(p.value).toBeGreaterThanOrEqual(0);
        expect(p.value).toBeLessThanOrEqual(800);
      }
    }
  }, 30_000);
});

describe('npm start runs the autoscaler', () => {
  const endpoint = inject('awsEndpoint');
  const cloudWatch = new CloudWatchClient(clientConfig(endpoint));
  const { config } = readLocalSettings(ROOT, {});
  const namespace = config.monitoring.metricsNamespace;

  /**
   * Load as the proxies would have published it for the last few minutes:
   * 3,000 requests/s at 5 ms, three healthy servers, servers at 50% CPU and
   * the proxy at 20%. The autoscaler's first tick reads it.
   */
  async function publishRecentLoad(envName: string): Promise<void> {
    const nowMs = Date.now();
    const data: MetricDatum[] = [];
    const ecs: MetricDatum[] = [];
    const proxyDims = { [DIMENSIONS.environment]: envName, [DIMENSIONS.service]: SERVICES.proxy };
    for (let m = 6; m >= 1; m--) {
      const timestamp = new Date(Math.floor(nowMs / MINUTE_MS - m) * MINUTE_MS + 30_000);
      data.push(
        { name: PROXY_METRICS.requests, unit: 'Count', timestamp, dimensions: proxyDims, value: 3000 * 60 },
        {
          name: PROXY_METRICS.responseTime,
          unit: 'Milliseconds',
          timestamp,
          dimensions: proxyDims,
          values: [5],
          counts: [3000 * 60],
        },
        { name: PROXY_METRICS.healthyServers, unit: 'Count', timestamp, dimensions: proxyDims, value: 3 },
      );
      for (const [service, value] of [
        [SERVICES.servers, 50],
        [SERVICES.proxy, 20],
      ] as const) {
        ecs.push({
          name: 'CPUUtilization',
          unit: 'None',
          timestamp,
          dimensions: { ClusterName: `ringmaster-${envName}`, ServiceName: service },
          value,
        });
      }
    }
    await new CloudWatchSink(cloudWatch, namespace).publish(data);
    await new CloudWatchSink(cloudWatch, 'AWS/ECS').publish(ecs);
  }

  async function startLocalRun(env: Record<string, string>) {
    const run = await spawnUntil(
      ['dist/scripts/start.js'],
      {
        RINGMASTER_PORT: '0',
        RINGMASTER_ADMIN_PORT: '0',
        RINGMASTER_TICK_SECONDS: '2',
        ...awsEnv(endpoint),
        ...env,
      },
      (l) => l.includes('Press Ctrl-C'),
    );
    const text = run.lines.join('\n');
    const adminUrl = /admin: {2}(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    const token = /token: {2}([0-9a-f]{64})/.exec(text)?.[1];
    const admin = async (method: string, path: string) => {
      const res = await request(`${adminUrl}${path}`, {
        method: method as 'GET',
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
    };
    const stop = async () => {
      run.child.kill('SIGINT');
      return new Promise<number | null>((r) => run.child.once('exit', (code) => r(code)));
    };
    return { run, text, admin, stop };
  }

  it('its ticks read the load, the servers follow, and each decision and the budget left are printed and on /status', async () => {
    const envName = `t${randomBytes(3).toString('hex')}`;
    await publishRecentLoad(envName);
    const local = await startLocalRun({ RINGMASTER_ENV_NAME: envName });
    try {
      expect(local.text).toMatch(/scale: {2}the autoscaler runs every 2 s with a budget of \$150 per month/);
      expect(local.text).toMatch(/load: {3}npx autocannon -d 300 -R 2000 -c 16 http:\/\/127\.0\.0\.1:\d+\/home/);
      // 3,000 requests/s against 500 per server: 3 servers become 6.
      await waitFor(() => local.run.lines.some((l) => /servers 3 → 6 {2}\| spent \$/.test(l)), 20_000, 'the decision');
      await waitFor(async () => (await local.admin('GET', '/rep')).body.message.N === 6, 30_000, 'six servers');
      // A later tick sees the six running, and the proxy's /status shows that tick (it reads the state every 5 s).
      const autoscalerStatus = async () => (await local.admin('GET', '/status')).body.message.autoscaler;
      await waitFor(
        async () =>
          (await autoscalerStatus()).services.some(
            (s: { name: string; running: number }) => s.name === 'servers' && s.running === 6,
          ),
        20_000,
        '/status to show six running',
      );
      const status = await autoscalerStatus();
      expect(status.services).toContainEqual({ name: 'servers', desired: 6, running: 6, pending: 0 });
      expect(status.decisions).toContainEqual(expect.objectContaining({ service: 'servers', from: 3, to: 6 }));
      expect(status.budget.budgetUsd).toBe(150);
      expect(status.budget.remainingUsd).toBeLessThanOrEqual(150);
    } finally {
      expect(await local.stop()).toBe(0);
    }
  }, 90_000);

  it('with the ledger started near a small budget, the cap holds the servers at their minimum under the same load', async () => {
    const envName = `t${randomBytes(3).toString('hex')}`;
    await publishRecentLoad(envName);
    // The month's minimum counts are paid for; all but a cent of the budget is taken as spent.
    const local = await startLocalRun({ RINGMASTER_ENV_NAME: envName, RINGMASTER_SPENT_USD: '149.99' });
    try {
      expect(local.text).toContain('$149.99 of it taken as spent already');
      await waitFor(
        () => local.run.lines.some((l) => /servers 3 → 2 {2}\| spent \$149\.99/.test(l)),
        20_000,
        'the budget-limited decision',
      );
      expect(local.run.lines.join('\n')).toMatch(/servers: servers 3 -> 2: .*\[budget-limited\]/);
      await waitFor(async () => (await local.admin('GET', '/rep')).body.message.N === 2, 30_000, 'two servers');
      // The proxy reads the autoscaler's state every 5 s, so /status may not show the tick yet: wait for it.
      const autoscalerStatus = async () => (await local.admin('GET', '/status')).body.message.autoscaler;
      await waitFor(async () => (await autoscalerStatus()) !== undefined, 20_000, '/status to show the tick');
      const status = await autoscalerStatus();
      expect(status.decisions).toContainEqual(expect.objectContaining({ service: 'servers', budgetLimited: true }));
      expect(status.budget.spendUsd).toBeLessThanOrEqual(150);
    } finally {
      expect(await local.stop()).toBe(0);
    }
  }, 90_000);

  it('refuses a budget below what the minimum counts cost before starting anything', async () => {
    const refused = spawnUntil(
      ['dist/scripts/start.js'],
      { RINGMASTER_BUDGET_USD: '1', RINGMASTER_BUDGET_PERIOD: 'day', ...awsEnv(endpoint) },
      () => false,
    );
    await expect(refused).rejects.toThrow(
      /exited with 2 before ready: npm start: settings from cdk.json with RINGMASTER_BUDGET_USD=1, RINGMASTER_BUDGET_PERIOD=day: invalid cdk.json context:\s+ringmaster\.autoscaler\.budgetUsd: must be at least/,
    );
  });
});
