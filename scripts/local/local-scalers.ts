import type { Logger } from 'pino';
import { cloudWatchClient } from '#core/aws/cloudwatch-client.js';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { ecsClient } from '#core/aws/ecs-client.js';
import { EcsService } from '#core/aws/ecs-service.js';
import type { ProxyConfig } from '#proxy/config.js';
import type { DevConfig } from './dev-config.js';
import { EcsMirroredScaler } from './ecs-mirrored-scaler.js';
import { LocalProcessScaler } from './local-process-scaler.js';
import { ECS_NAMESPACE, LocalTaskCpuPublisher, ownCpuSeconds, processCpuSeconds } from './local-task-cpu.js';

/** How often a local-ecs scaler compares its processes with the ECS service's count. */
const ECS_FOLLOW_INTERVAL_MS = 2000;

/** The server processes of SCALER=local: each registers with this proxy as its settings say. */
export function localProcesses(
  dev: DevConfig,
  config: ProxyConfig,
  adminPort: number,
  env: NodeJS.ProcessEnv,
  log: Logger,
): LocalProcessScaler {
  return new LocalProcessScaler(
    { entry: dev.LOCAL_SERVER_ENTRY, logLevel: config.LOG_LEVEL, env: localServerEnv(config, adminPort, env) },
    log,
  );
}

/**
 * SCALER=local-ecs: the server processes mirror and follow the emulated ECS
 * servers service, and their CPU (and the proxy's own, when ECS_PROXY_SERVICE
 * is set) is published as AWS/ECS CPUUtilization, as ECS would for real tasks.
 */
export function localEcsTasks(
  dev: DevConfig,
  config: ProxyConfig,
  processes: LocalProcessScaler,
  log: Logger,
): EcsMirroredScaler {
  const servers = {
    name: dev.ECS_SERVER_SERVICE,
    cpuUnits: dev.LOCAL_SERVER_CPU_UNITS,
    cpuSeconds: () => {
      const cpu = new Map<string, number | undefined>();
      for (const [id, pid] of processes.processIds()) cpu.set(id, processCpuSeconds(pid));
      return cpu;
    },
  };
  const proxyService = new EcsService(ecsClient(), dev.ECS_CLUSTER, dev.ECS_PROXY_SERVICE);
  const proxy = {
    name: dev.ECS_PROXY_SERVICE,
    cpuUnits: dev.LOCAL_PROXY_CPU_UNITS,
    cpuSeconds: () => new Map([['self', ownCpuSeconds()]]),
    // One local proxy serves for all of the proxy service's tasks.
    sharedBy: async () => (await proxyService.describe()).running,
  };
  const cpu = new LocalTaskCpuPublisher(
    dev.ECS_CLUSTER,
    dev.ECS_PROXY_SERVICE ? [servers, proxy] : [servers],
    new CloudWatchSink(cloudWatchClient(), ECS_NAMESPACE),
    config.METRICS_PERIOD_MS,
    log,
  );
  const service = new EcsService(ecsClient(), dev.ECS_CLUSTER, dev.ECS_SERVER_SERVICE);
  return new EcsMirroredScaler(processes, service, ECS_FOLLOW_INTERVAL_MS, cpu, log);
}

/** What the servers a local scaler starts need: how to register, and any artificial work. */
export function localServerEnv(config: ProxyConfig, adminPort: number, env: NodeJS.ProcessEnv): Record<string, string> {
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
