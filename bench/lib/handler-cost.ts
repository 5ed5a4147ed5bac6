import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { cloudWatchClient } from '#core/aws/cloudwatch-client.js';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { ecsClient } from '#core/aws/ecs-client.js';
import { AUTOSCALER_STATE_KEYS } from '#core/aws/tables.js';
import type { MetricDatum } from '#core/ports/metrics-sink.js';
import { DIMENSIONS, PROXY_METRICS, SERVICES } from '#core/telemetry/metric-names.js';
import { emulatorClient, emulatorEnv, useEmulator } from '#devkit/emulator.js';
import { createLocalServices } from '#devkit/local-ecs.js';
import { repoRoot } from '#devkit/repo-root.js';
import { HISTORY_BUCKET_MINUTES, HISTORY_DAYS } from '#functions/autoscaler/adapters/cloudwatch-load.js';
import { readLocalSettings } from '#scripts/local/local-settings.js';

const MINUTE_MS = 60_000;
/** The history the forecast reads (two weeks), so GetMetricData returns what it would on AWS. */
const HISTORY_MINUTES = HISTORY_DAYS * 24 * 60;
/** The newest minutes get every per-minute metric; older ones only the request count the history reads. */
const PER_MINUTE_MINUTES = 60;
/** Older load is published as one datapoint per history bucket (its sum), as a 5-minute Sum reads it. */
const OLDER_STEP_MINUTES = HISTORY_BUCKET_MINUTES;

export interface HandlerCost {
  readonly ticks: number;
  readonly msPerTick: { readonly p50: number; readonly p95: number; readonly max: number };
  /** The handler's own CPU per tick (this process; the emulator's time is not in it), in ms. */
  readonly cpuMsPerTick: number;
  /** AWS API calls per tick, by operation, averaged over the ticks. */
  readonly awsCallsPerTick: Readonly<Record<string, number>>;
  readonly awsCallsPerTickTotal: number;
  /** Mean time of one call of each operation, in ms: where a tick's duration goes. */
  readonly msPerCall: Readonly<Record<string, number>>;
  readonly emulator: string;
}

/** The part of an AWS SDK v3 client the counter uses (every client has it, with its own types). */
interface Countable {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { readonly commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { readonly step: 'initialize'; readonly name: string },
    ): void;
  };
}

/** Counts every command a client sends, by name, and the time each took. */
function countCalls(client: unknown, counts: Map<string, number>, ms: Map<string, number>): void {
  (client as Countable).middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context.commandName ?? 'unknown').replace(/Command$/, '');
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        ms.set(name, (ms.get(name) ?? 0) + performance.now() - started);
      }
    },
    { step: 'initialize', name: 'countCalls' },
  );
}

/**
 * The autoscaler handler's own cost: the real handler module (its cold start
 * and first invocation excluded) run `ticks` times in a row against the emulator, with a servers
 * and a proxy service, a state table, and two weeks of request history in
 * CloudWatch. Reports the duration per tick and the AWS calls it makes.
 */
export async function measureHandlerCost(ticks: number): Promise<HandlerCost> {
  const root = repoRoot();
  const emulator = await useEmulator(root);
  try {
    Object.assign(process.env, emulatorEnv(emulator.endpoint));
    const { config } = readLocalSettings(root, {});
    const envName = `bench${Date.now().toString(36).slice(-6)}`;
    const cluster = `ringmaster-${envName}`;
    const stateTable = `ringmaster-${envName}-autoscaler`;
    await emulatorClient(emulator.endpoint).send(
      new CreateTableCommand({ TableName: stateTable, BillingMode: 'PAY_PER_REQUEST', ...AUTOSCALER_STATE_KEYS }),
    );
    await createLocalServices(new ECSClient({}), cluster, [
      { name: SERVICES.proxy, cpu: config.proxy.cpu, memoryMiB: config.proxy.memoryMiB, desiredCount: 2 },
      { name: SERVICES.servers, cpu: config.servers.cpu, memoryMiB: config.servers.memoryMiB, desiredCount: 3 },
    ]);
    await publishHistory(config.monitoring.metricsNamespace, envName, cluster);
    Object.assign(process.env, {
      RINGMASTER_CONFIG: JSON.stringify({ ...config, envName }),
      STATE_TABLE: stateTable,
      CLUSTER_NAME: cluster,
      PROXY_SERVICE_NAME: SERVICES.proxy,
      SERVER_SERVICE_NAME: SERVICES.servers,
      METRICS_NAMESPACE: config.monitoring.metricsNamespace,
      ENV_NAME: envName,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // The emulator turns no log lines into metrics; on AWS (emf) the tick makes one call fewer.
      METRICS_OUTPUT: 'put-metric-data',
    });
    const { handler } = await import('#functions/autoscaler/handler.js');
    const counts = new Map<string, number>();
    const ms = new Map<string, number>();
    // The handler's clients are the process's shared ones: count what each sends.
    for (const client of [ecsClient(), cloudWatchClient(), dynamoDocumentClient()]) countCalls(client, counts, ms);
    // One untimed invocation: the first one's connections and credential lookup are the cold start's cost.
    await handler();
    counts.clear();
    ms.clear();
    const durations: number[] = [];
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < ticks; i++) {
      const started = performance.now();
      await handler();
      durations.push(performance.now() - started);
    }
    const cpu = process.cpuUsage(cpuBefore);
    durations.sort((a, b) => a - b);
    const at = (q: number) => round(durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0);
    const perTick = Object.fromEntries([...counts].sort().map(([name, n]) => [name, round(n / ticks)]));
    return {
      ticks,
      msPerTick: { p50: at(0.5), p95: at(0.95), max: round(durations[durations.length - 1] ?? 0) },
      cpuMsPerTick: round((cpu.user + cpu.system) / 1000 / ticks),
      awsCallsPerTick: perTick,
      awsCallsPerTickTotal: round([...counts.values()].reduce((a, b) => a + b, 0) / ticks),
      msPerCall: Object.fromEntries(
        [...ms].sort().map(([name, total]) => [name, round(total / (counts.get(name) ?? 1))]),
      ),
      emulator: emulator.owned ? 'MiniStack (started for this run)' : emulator.endpoint,
    };
  } finally {
    await emulator.stop();
  }
}

/**
 * Two weeks of load (a daily sine around 1,500 requests/s): the last hour minute by minute with p99, healthy
 * servers and CPU, as the proxies and ECS publish; before it, one request sum per history bucket, which is all
 * the 5-minute history query reads (and keeps the emulator's setup to some 4,000 datapoints).
 */
async function publishHistory(namespace: string, envName: string, cluster: string): Promise<void> {
  const nowMinute = Math.floor(Date.now() / MINUTE_MS);
  const proxy: MetricDatum[] = [];
  const ecs: MetricDatum[] = [];
  const dims = { [DIMENSIONS.environment]: envName, [DIMENSIONS.service]: SERVICES.proxy };
  const firstPerMinute = nowMinute - PER_MINUTE_MINUTES;
  for (let minute = firstPerMinute - HISTORY_MINUTES; minute < firstPerMinute; minute++) {
    if (minute % OLDER_STEP_MINUTES !== 0) continue;
    const rps = 1500 + 1000 * Math.sin((2 * Math.PI * minute) / (24 * 60));
    const value = Math.round(rps * 60 * Math.min(OLDER_STEP_MINUTES, firstPerMinute - minute));
    proxy.push({
      name: PROXY_METRICS.requests,
      unit: 'Count',
      timestamp: new Date(minute * MINUTE_MS + 30_000),
      dimensions: dims,
      value,
    });
  }
  for (let m = PER_MINUTE_MINUTES; m >= 1; m--) {
    const timestamp = new Date((nowMinute - m) * MINUTE_MS + 30_000);
    const rps = 1500 + 1000 * Math.sin((2 * Math.PI * (nowMinute - m)) / (24 * 60));
    proxy.push(
      { name: PROXY_METRICS.requests, unit: 'Count', timestamp, dimensions: dims, value: Math.round(rps * 60) },
      {
        name: PROXY_METRICS.responseTime,
        unit: 'Milliseconds',
        timestamp,
        dimensions: dims,
        values: [4, 9],
        counts: [rps * 59, rps],
      },
      { name: PROXY_METRICS.healthyServers, unit: 'Count', timestamp, dimensions: dims, value: 3 },
    );
    for (const service of [SERVICES.proxy, SERVICES.servers]) {
      ecs.push({
        name: 'CPUUtilization',
        unit: 'None',
        timestamp,
        dimensions: { ClusterName: cluster, ServiceName: service },
        value: 40,
      });
    }
  }
  await new CloudWatchSink(cloudWatchClient(), namespace).publish(proxy);
  await new CloudWatchSink(cloudWatchClient(), 'AWS/ECS').publish(ecs);
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
