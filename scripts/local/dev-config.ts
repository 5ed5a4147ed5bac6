import { z } from 'zod';
import { ConfigError, intVar, parseEnv } from '#core/config/env.js';

/**
 * The development entry point's own settings (scripts/local/dev-proxy.ts):
 * what runs backend servers as local processes. The proxy's settings
 * (containers/proxy/src/config.ts) know none of these; the CDK app sets none.
 */
const schema = z.object({
  /**
   * `local`: /add and /rm start and stop server processes. `local-ecs` (what `npm start` runs):
   * the processes also stand in for an emulated ECS service's tasks and follow its count
   * (ecs-mirrored-scaler.ts).
   */
  SCALER: z.enum(['local', 'local-ecs'], { error: 'expected local or local-ecs' }).default('local'),
  /** The server bundle each process runs with node (dist/server.js). */
  LOCAL_SERVER_ENTRY: z.string().default(''),
  /** Servers started before the proxy reports ready. */
  INITIAL_SERVERS: intVar(0, 0, 1000),
  /** local-ecs: the cluster and the servers' service the processes follow (the proxy's own ECS settings). */
  ECS_CLUSTER: z.string().default(''),
  ECS_SERVER_SERVICE: z.string().default(''),
  /** local-ecs: the proxy's own service, whose CPU it also publishes (optional). */
  ECS_PROXY_SERVICE: z.string().default(''),
  /** local-ecs: each process counts as a task of this many CPU units (1024 = 1 vCPU) in AWS/ECS CPUUtilization. */
  LOCAL_SERVER_CPU_UNITS: intVar(256, 128, 16_384),
  LOCAL_PROXY_CPU_UNITS: intVar(512, 128, 16_384),
});

export type DevConfig = z.infer<typeof schema>;

export function loadDevConfig(env: Record<string, string | undefined>): DevConfig {
  const parsed = parseEnv(schema, env, 'dev proxy');
  if (!parsed.LOCAL_SERVER_ENTRY) {
    throw new ConfigError(`LOCAL_SERVER_ENTRY: required (the server bundle to run, e.g. dist/server.js)`, [
      'LOCAL_SERVER_ENTRY: required',
    ]);
  }
  if (parsed.SCALER === 'local-ecs' && (!parsed.ECS_CLUSTER || !parsed.ECS_SERVER_SERVICE)) {
    throw new ConfigError('ECS_CLUSTER, ECS_SERVER_SERVICE: required when SCALER=local-ecs', ['ECS_CLUSTER: required']);
  }
  return parsed;
}
