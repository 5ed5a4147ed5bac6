import { randomBytes } from 'node:crypto';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { EcsService } from '#core/aws/ecs-service.js';
import { AUTOSCALER_STATE_KEYS } from '#core/aws/tables.js';
import { AUTOSCALER_METRICS, DIMENSIONS, PROXY_METRICS, SERVICES } from '#core/telemetry/metric-names.js';
import { createLocalServices } from '#devkit/local-ecs.js';
import { CloudWatchLoadReader, COMPLETE_AFTER_MS } from '#functions/autoscaler/adapters/cloudwatch-load.js';
import { minimumSpendForPeriod, parseState, withDefaults } from '#functions/autoscaler/policy.js';
import type { TickLog, TickPorts } from '#functions/autoscaler/ports.js';
import type { AutoscalerSettings } from '#functions/autoscaler/settings.js';
import { runTick } from '#functions/autoscaler/tick.js';
import { awsEnv, clientConfig, testClients } from '../helpers/aws.js';
import { metricPoints } from '../helpers/cloudwatch.js';
import { startTestProxy, startTestServer, type TestProxy, type TestServer, waitFor } from '../helpers/processes.js';
import { TcpGate } from '../helpers/tcp-gate.js';

const NAMESPACE = 'RingmasterTickTest';
const MINUTE_MS = 60_000;
const REQUESTS = 1200;

const quietLog = (): TickLog & { lines: string[] } => {
  const lines: string[] = [];
  const keep = (message: string, extra?: Record<string, unknown>) =>
    lines.push(`${message} ${JSON.stringify(extra ?? {})}`);
  return { lines, info: keep, warn: keep, error: keep };
};

/** Servers sized at 5 rps per task, so 1,200 requests in one minute (20 rps) ask for 4 tasks. */
function settings(budgetUsd: number): AutoscalerSettings {
  const task = { cpu: 256, memoryMiB: 512, architecture: 'arm64' as const };
  return withDefaults({
    services: {
      proxy: { minCount: 1, maxCount: 4, targetRequestsPerTaskPerSecond: 1000, targetCpuPercent: 60, task },
      servers: { minCount: 2, maxCount: 10, targetRequestsPerTaskPerSecond: 5, targetCpuPercent: 60, task },
    },
    p99SloMs: 10_000,
    budgetUsd,
    budgetPeriod: 'day',
  });
}

describe('an autoscaler tick against the emulator', () => {
  const endpoint = inject('awsEndpoint');
  const environment = `tick${randomBytes(3).toString('hex')}`;
  const cluster = `rm-tick-${randomBytes(3).toString('hex')}`;
  const stateTable = `rm-test-state-${randomBytes(4).toString('hex')}`;
  const ecs = new ECSClient(clientConfig(endpoint));
  const cloudWatch = new CloudWatchClient(clientConfig(endpoint));
  const servers: TestServer[] = [];
  let proxy: TestProxy;
  let loadMinuteMs = 0;

  const ports = (options: { state?: string; cluster?: string; cloudWatchEndpoint?: string } = {}): TickPorts => {
    const cw = options.cloudWatchEndpoint ? new CloudWatchClient(clientConfig(options.cloudWatchEndpoint)) : cloudWatch;
    const c = options.cluster ?? cluster;
    return {
      load: new CloudWatchLoadReader(cw, {
        namespace: NAMESPACE,
        environment,
        cluster: c,
        serviceNames: { proxy: 'proxy', servers: 'servers' },
      }),
      services: { proxy: new EcsService(ecs, c, 'proxy'), servers: new EcsService(ecs, c, 'servers') },
      state: new AutoscalerStateStore(testClients(endpoint).doc, options.state ?? stateTable),
      metrics: new CloudWatchSink(cloudWatch, NAMESPACE),
    };
  };
  const desired = async (service: string) => (await new EcsService(ecs, cluster, service).describe()).desired;

  beforeAll(async () => {
    const { client } = testClients(endpoint);
    await client.send(
      new CreateTableCommand({ TableName: stateTable, BillingMode: 'PAY_PER_REQUEST', ...AUTOSCALER_STATE_KEYS }),
    );
    await createLocalServices(ecs, cluster, [
      { name: 'proxy', cpu: 256, memoryMiB: 512, desiredCount: 1 },
      { name: 'servers', cpu: 256, memoryMiB: 512, desiredCount: 2 },
    ]);
    // Load through a real proxy that publishes to CloudWatch every second.
    servers.push(await startTestServer('t1', undefined), await startTestServer('t2', undefined));
    proxy = await startTestProxy({
      ...awsEnv(endpoint),
      MEMBERSHIP: 'static',
      STATIC_SERVERS: servers.map((s) => `${s.id}=${s.address}`).join(','),
      METRICS_SINK: 'cloudwatch',
      METRICS_NAMESPACE: NAMESPACE,
      METRICS_PERIOD_MS: '1000',
      ENV_NAME: environment,
    });
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = w; i < REQUESTS; i += 8) (await request(`${proxy.url}/home?request_id=${i}`)).body.dump();
      }),
    );
    // The tick reads the minute before last; find the minute the load landed in.
    const perMinute = async () =>
      (
        await metricPoints(cloudWatch, {
          namespace: NAMESPACE,
          name: PROXY_METRICS.requests,
          dimensions: { [DIMENSIONS.environment]: environment, [DIMENSIONS.service]: SERVICES.proxy },
          stat: 'Sum',
        })
      ).map((p) => ({ at: p.at, sum: p.value }));
    await waitFor(
      async () => (await perMinute()).reduce((n, b) => n + b.sum, 0) === REQUESTS,
      15_000,
      'the load to be published',
    );
    loadMinuteMs = (await perMinute()).sort((a, b) => b.sum - a.sum)[0]?.at ?? 0;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([proxy, ...servers].map((p) => p?.stop()));
    await testClients(endpoint)
      .client.send(new DeleteTableCommand({ TableName: stateTable }))
      .catch(() => {});
  });

  it('reads the published load, scales the servers out, commits the ledger and emits its metrics', async () => {
    const nowMs = loadMinuteMs + COMPLETE_AFTER_MS + 1000;
    const log = quietLog();
    const outcome = await runTick(ports(), settings(1000), environment, log, nowMs);
    expect(outcome.kind, log.lines.join('\n')).toBe('applied');
    if (outcome.kind !== 'applied') return;
    const servers = outcome.decision.services.servers;
    expect(servers.needs.requests).toBeGreaterThan(2);
    expect(servers.desiredCount).toBeGreaterThan(2);
    expect(await desired('servers')).toBe(servers.desiredCount);
    expect(await desired('proxy')).toBe(1);
    const stored = await ports().state.load();
    expect(stored.version).toBe(1);
    expect(stored.decisions[0]).toMatchObject({ service: 'servers', from: 2, to: servers.desiredCount });
    expect(parseState(stored.state).lastTickMs).toBe(nowMs);
    // What /add is checked against (core/aws/budget-gate.ts), and whether the minimums are paid.
    expect(stored.summary?.budget.belowMinimum).toBe(false);
    expect(stored.summary?.addLimits?.servers?.maxCount).toBe(10);
    expect(stored.summary?.addLimits?.servers?.budgetCap).toBe(10);
    expect(stored.summary?.addLimits?.servers?.usdPerTaskHour).toBeGreaterThan(0);

    // A minute later the ledger has billed the running tasks.
    const next = await runTick(ports(), settings(1000), environment, log, nowMs + MINUTE_MS);
    expect(next.kind).toBe('applied');
    const after = await ports().state.load();
    expect(after.version).toBe(2);
    expect(parseState(after.state).spendUsd).toBeGreaterThan(parseState(stored.state).spendUsd);

    const emitted = await metricPoints(cloudWatch, {
      namespace: NAMESPACE,
      name: AUTOSCALER_METRICS.desiredCount,
      dimensions: { [DIMENSIONS.environment]: environment, [DIMENSIONS.service]: SERVICES.servers },
      stat: 'Maximum',
      startMs: nowMs - 5 * MINUTE_MS,
      endMs: nowMs + 5 * MINUTE_MS,
    });
    expect(emitted.map((p) => p.value)).toContain(servers.desiredCount);
  });

  it('when the ledger has nearly reached the budget, the servers go back to their minimum', async () => {
    const nowMs = loadMinuteMs + COMPLETE_AFTER_MS + 2 * MINUTE_MS;
    const store = ports().state;
    const stored = await store.load();
    const state = parseState(stored.state);
    expect(await desired('servers')).toBeGreaterThan(2);
    // Late in the period: all but a cent of the budget spent (the ledger is the record of that).
    const budgetUsd = 1000;
    await store.commit(stored.version, { ...state, spendUsd: budgetUsd - 0.01 }, stored.decisions, []);
    const outcome = await runTick(ports(), settings(budgetUsd), environment, quietLog(), nowMs);
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.decision.services.servers.budgetLimited).toBe(true);
    expect(outcome.decision.services.servers.desiredCount).toBe(2);
    expect(await desired('servers')).toBe(2);
    expect(parseState((await store.load()).state).spendUsd).toBeLessThanOrEqual(budgetUsd);
  });

  it('two overlapping invocations: exactly one commits and applies', async () => {
    const nowMs = loadMinuteMs + COMPLETE_AFTER_MS + 3 * MINUTE_MS;
    const before = await ports().state.load();
    const outcomes = await Promise.all([
      runTick(ports(), settings(1000), environment, quietLog(), nowMs),
      runTick(ports(), settings(1000), environment, quietLog(), nowMs),
    ]);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['applied', 'conflict']);
    expect((await ports().state.load()).version).toBe(before.version + 1);
  });

  it('with CloudWatch down the tick still bills and caps, allowing reductions only; with ECS down it changes nothing', async () => {
    const nowMs = loadMinuteMs + COMPLETE_AFTER_MS + 4 * MINUTE_MS;
    const before = await ports().state.load();
    const url = new URL(endpoint);
    const gate = new TcpGate(url.hostname, Number(url.port));
    await gate.open();
    const deadCloudWatch = gate.url;
    await gate.close();
    // Servers below what the load asked for a minute ago: without load data nothing may raise them.
    await new EcsService(ecs, cluster, 'servers').setDesiredCount(3);
    const log = quietLog();
    const cwDown = await runTick(
      ports({ cloudWatchEndpoint: deadCloudWatch }),
      settings(1000),
      environment,
      log,
      nowMs,
    );
    expect(cwDown.kind, log.lines.join('\n')).toBe('applied');
    if (cwDown.kind !== 'applied') return;
    expect(cwDown.loadUnavailable).toBe(true);
    expect(cwDown.decision.services.servers.desiredCount).toBeLessThanOrEqual(3);
    expect(await desired('servers')).toBeLessThanOrEqual(3);
    const after = await ports().state.load();
    expect(after.version).toBe(before.version + 1);
    expect(parseState(after.state).spendUsd).toBeGreaterThan(parseState(before.state).spendUsd);
    expect(log.lines.some((l) => l.includes('reading the load failed'))).toBe(true);

    // And the cap still binds: all but a cent spent, CloudWatch still down, the servers come down.
    const store = ports().state;
    await store.commit(after.version, { ...parseState(after.state), spendUsd: 1000 - 0.01 }, after.decisions, []);
    const capped = await runTick(
      ports({ cloudWatchEndpoint: deadCloudWatch }),
      settings(1000),
      environment,
      quietLog(),
      nowMs + MINUTE_MS,
    );
    expect(capped).toMatchObject({ kind: 'applied', loadUnavailable: true });
    expect(await desired('servers')).toBe(2);
    const unavailable = await metricPoints(cloudWatch, {
      namespace: NAMESPACE,
      name: AUTOSCALER_METRICS.loadUnavailable,
      dimensions: { [DIMENSIONS.environment]: environment },
      stat: 'Maximum',
      startMs: nowMs - 5 * MINUTE_MS,
      endMs: nowMs + 5 * MINUTE_MS,
    });
    expect(unavailable.map((p) => p.value)).toContain(1);

    const version = (await ports().state.load()).version;
    const ecsDown = await runTick(
      ports({ cluster: 'no-such-cluster' }),
      settings(1000),
      environment,
      quietLog(),
      nowMs,
    );
    expect(ecsDown).toMatchObject({ kind: 'error', stage: 'read' });
    expect((await ports().state.load()).version).toBe(version);
    expect(await desired('servers')).toBe(2);
  });

  it.each([
    ['of a newer format', { format: 99, spendUsd: 12 }, /newer autoscaler/],
    ['unreadable', { format: 1, spendUsd: 'twelve' }, /persisted autoscaler state: version: /],
  ])('a state item %s takes both tiers to their minimum, says why and is left as it was', async (_, item, why) => {
    const nowMs = loadMinuteMs + COMPLETE_AFTER_MS + 6 * MINUTE_MS;
    const table = `rm-test-state-${randomBytes(4).toString('hex')}`;
    const { client } = testClients(endpoint);
    await client.send(
      new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', ...AUTOSCALER_STATE_KEYS }),
    );
    const store = ports({ state: table }).state;
    await store.commit(0, item, [], []);
    await new EcsService(ecs, cluster, 'servers').setDesiredCount(6);
    await new EcsService(ecs, cluster, 'proxy').setDesiredCount(3);
    const log = quietLog();
    for (const at of [nowMs, nowMs + MINUTE_MS]) {
      const outcome = await runTick(ports({ state: table }), settings(1000), environment, log, at);
      expect(outcome.kind).toBe('stateUnreadable');
      if (outcome.kind === 'stateUnreadable') expect(outcome.reason).toMatch(why);
      expect(await desired('servers')).toBe(2);
      expect(await desired('proxy')).toBe(1);
    }
    expect(log.lines.filter((l) => l.includes('state item is unreadable'))).toHaveLength(2);
    const kept = await store.load();
    expect(kept.version).toBe(1);
    expect(kept.state).toEqual(item);
    const flagged = await metricPoints(cloudWatch, {
      namespace: NAMESPACE,
      name: AUTOSCALER_METRICS.stateUnreadable,
      dimensions: { [DIMENSIONS.environment]: environment },
      stat: 'Sum',
      startMs: nowMs - 5 * MINUTE_MS,
      endMs: nowMs + 5 * MINUTE_MS,
    });
    expect(flagged.reduce((n, p) => n + p.value, 0)).toBeGreaterThanOrEqual(2);
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
  });

  it('a budget that pays only the minimum fleet holds the servers at their minimum and says so', async () => {
    const tight = settings(1);
    const nowMs = loadMinuteMs + COMPLETE_AFTER_MS + 1000;
    // The period is the UTC day and this is the first tick of the ledger: enough money for the
    // minimum fleet over what is left of the day, and 1% more.
    const dayMs = 24 * 60 * MINUTE_MS;
    const leftOfDay = (Math.floor(nowMs / dayMs) * dayMs + dayMs - nowMs) / dayMs;
    const budget = minimumSpendForPeriod(tight) * leftOfDay * 1.01;
    const state = `rm-test-state-${randomBytes(4).toString('hex')}`;
    const { client } = testClients(endpoint);
    await client.send(
      new CreateTableCommand({ TableName: state, BillingMode: 'PAY_PER_REQUEST', ...AUTOSCALER_STATE_KEYS }),
    );
    await new EcsService(ecs, cluster, 'servers').setDesiredCount(2);
    const outcome = await runTick(ports({ state }), { ...tight, budgetUsd: budget }, environment, quietLog(), nowMs);
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.decision.services.servers.budgetLimited).toBe(true);
    expect(outcome.decision.services.servers.desiredCount).toBe(2);
    expect(await desired('servers')).toBe(2);
    expect(outcome.decision.budget.spendUsd).toBeLessThanOrEqual(budget);
    await client.send(new DeleteTableCommand({ TableName: state })).catch(() => {});
  });
});
