import type { Logger } from 'pino';
import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { BudgetGate } from '#core/aws/budget-gate.js';
import { cloudWatchClient } from '#core/aws/cloudwatch-client.js';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { ecsClient } from '#core/aws/ecs-client.js';
import { EcsScaler, EcsService } from '#core/aws/ecs-service.js';
import { loadOrExit } from '#core/config/load-or-exit.js';
import { readyLine } from '#core/runtime/ready-line.js';
import { startProxy } from './app.js';
import { loadProxyConfig, type ProxyConfig } from './config.js';
import { EcsMirroredScaler } from './scaler/ecs-mirrored-scaler.js';
import { LocalProcessScaler } from './scaler/local-process-scaler.js';
import { ECS_NAMESPACE, LocalTaskCpuPublisher, ownCpuSeconds, processCpuSeconds } from './scaler/local-task-cpu.js';
import { createLogger } from './telemetry/logger.js';

/** How often a local-ecs scaler compares its processes with the ECS service's count. */
const ECS_FOLLOW_INTERVAL_MS = 2000;

/** Entry point of the proxy container (its CMD runs `node proxy.js` in /app) and of `dist/proxy.js`. */
async function main(): Promise<void> {
  const config = loadOrExit('ringmaster proxy', () => loadProxyConfig(process.env));
  const log = createLogger(config.LOG_LEVEL, 'ringmaster-proxy');
  if (!config.adminToken) log.warn('RINGMASTER_LOCAL_DEV=1: the admin API accepts requests without a token');
  let mirrored: EcsMirroredScaler | undefined;
  const proxy = await startProxy(config, log, {
    createScaler: (adminPort) => {
      const processes = () =>
        new LocalProcessScaler(
          {
            entry: config.LOCAL_SERVER_ENTRY,
            logLevel: config.LOG_LEVEL,
            env: localServerEnv(config, adminPort, process.env),
          },
          log,
        );
      switch (config.SCALER) {
        case 'local':
          return processes();
        case 'local-ecs':
          mirrored = localEcsTasks(config, processes(), log);
          return mirrored;
        case 'ecs':
          // /add goes through the autoscaler's budget (BudgetGate) wherever the autoscaler's state is readable.
          return new EcsScaler(
            new EcsService(ecsClient(), config.ECS_CLUSTER, config.ECS_SERVER_SERVICE),
            config.AUTOSCALER_STATE_TABLE
              ? new BudgetGate(
                  new AutoscalerStateStore(dynamoDocumentClient(), config.AUTOSCALER_STATE_TABLE),
                  'servers',
                )
              : undefined,
          );
        case 'none':
          return undefined;
      }
    },
    onActions: (actions) => mirrored?.follow(actions) ?? (async () => {}),
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      proxy.shutdown().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  // Machine-readable line for scripts and tests that start the proxy on port 0. Printed only
  // once the signal handlers exist: a SIGTERM sent on seeing it must not meet the default action.
  process.stdout.write(readyLine({ ringmaster: 'ready', proxyPort: proxy.proxyPort, adminPort: proxy.adminPort }));
}

/**
 * SCALER=local-ecs: the server processes mirror and follow the emulated ECS
 * servers service, and their CPU (and the proxy's own, when ECS_PROXY_SERVICE
 * is set) is published as AWS/ECS CPUUtilization, as ECS would for real tasks.
 */
function localEcsTasks(config: ProxyConfig, processes: LocalProcessScaler, log: Logger): EcsMirroredScaler {
  const servers = {
    name: config.ECS_SERVER_SERVICE,
    cpuUnits: config.LOCAL_SERVER_CPU_UNITS,
    cpuSeconds: () => {
      const cpu = new Map<string, number | undefined>();
      for (const [id, pid] of processes.processIds()) cpu.set(id, processCpuSeconds(pid));
      return cpu;
    },
  };
  const proxyService = new EcsService(ecsClient(), config.ECS_CLUSTER, config.ECS_PROXY_SERVICE);
  const proxy = {
    name: config.ECS_PROXY_SERVICE,
    cpuUnits: config.LOCAL_PROXY_CPU_UNITS,
    cpuSeconds: () => new Map([['self', ownCpuSeconds()]]),
    // One local proxy serves for all of the proxy service's tasks.
    sharedBy: async () => (await proxyService.describe()).running,
  };
  const cpu = new LocalTaskCpuPublisher(
    config.ECS_CLUSTER,
    config.ECS_PROXY_SERVICE ? [servers, proxy] : [servers],
    new CloudWatchSink(cloudWatchClient(), ECS_NAMESPACE),
    config.METRICS_PERIOD_MS,
    log,
  );
  const service = new EcsService(ecsClient(), config.ECS_CLUSTER, config.ECS_SERVER_SERVICE);
  return new EcsMirroredScaler(processes, service, ECS_FOLLOW_INTERVAL_MS, cpu, log);
}

/** What the servers a local scaler starts need: how to register, and any artificial work. */
function localServerEnv(config: ProxyConfig, adminPort: number, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const pass = (...keys: string[]) => {
    for (const key of keys) {
      const value = env[key];
      if (value !== undefined) out[key] = value;
    }
  };
  pass('SERVER_WORK_LATENCY_MS', 'SERVER_WORK_CPU_MS');
  if (config.SHARD_TABLE) {
    Object.assign(out, {
      SHARD_TABLE: config.SHARD_TABLE,
      MAP_TABLE: config.MAP_TABLE,
      RECORDS_TABLE: config.RECORDS_TABLE,
    });
  }
  if (config.MEMBERSHIP === 'dynamodb' || config.SHARD_TABLE) {
    pass('AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN');
  }
  if (config.MEMBERSHIP === 'dynamodb') {
    out.RING_TABLE = config.RING_TABLE;
  } else {
    out.REGISTRY_URL = `http://127.0.0.1:${adminPort}/members`;
    // The servers present the admin token to register: by file when the proxy has one.
    if (env.ADMIN_TOKEN_FILE) out.REGISTRY_TOKEN_FILE = env.ADMIN_TOKEN_FILE;
    else if (config.adminToken) out.REGISTRY_TOKEN = config.adminToken;
  }
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(
    `ringmaster proxy failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
