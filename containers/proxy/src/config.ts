import { z } from 'zod';
import { DEFAULT_MAGLEV_TABLE_SIZE, MAX_TABLE_MEMBERS } from '#core/balancing/maglev-table.js';
import { DEFAULT_STRATEGY, defaultSlowStartMs, STRATEGY_NAMES } from '#core/balancing/strategies.js';
import {
  ConfigError,
  checkRecordTables,
  flagVar,
  intVar,
  logLevelVar,
  numberVar,
  optionalIntVar,
  parseEnv,
  portVar,
  tableNameVar,
} from '#core/config/env.js';
import { readSecret } from '#core/config/secret.js';
import { parseKeySource } from '#core/routing/key-source.js';
import { DEFAULT_METRICS_NAMESPACE } from '#core/telemetry/metric-names.js';
import { isLoopbackHost } from '#core/util/loopback-host.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Every proxy setting, from environment variables; each default is a named limit. */
const schema = z.object({
  PROXY_HOST: z.string().default('0.0.0.0'),
  PROXY_PORT: portVar(8080),
  ADMIN_HOST: z.string().default('0.0.0.0'),
  ADMIN_PORT: portVar(8081),
  /*
   * Local runs and tests only; the CDK app sets none of these. They stay in the proxy because the
   * tests and `npm start` run the production bundle's own code paths with them:
   * - RINGMASTER_LOCAL_DEV: an admin API without a token;
   * - SEED_COMPAT: the seed's balancers' routes on the data port (loopback only);
   * - MEMBERSHIP=registry (servers register through the admin API) or static, with STATIC_SERVERS.
   * What starts server processes (SCALER=local, local-ecs and every LOCAL_* setting) is not here:
   * it belongs to the development entry point, scripts/local/dev-proxy.ts (scripts/local/dev-config.ts).
   */
  /** Allows an admin API without a token. */
  RINGMASTER_LOCAL_DEV: flagVar(),
  /**
   * Compatibility mode for the seed's balancers' scripts (local runs only): the admin routes
   * /rep, /add, /rm and /init also answer on the data port, without a token. Allowed only when
   * PROXY_HOST is a loopback address, with the records API on; `npm start` sets it, the CDK app never does.
   */
  SEED_COMPAT: flagVar(),
  /** MEMBERSHIP=static: `id=http://host:port,id2=http://host:port` */
  STATIC_SERVERS: z.string().default(''),
  LOG_LEVEL: logLevelVar(),

  STRATEGY: z.enum(STRATEGY_NAMES).default(DEFAULT_STRATEGY),
  BOUND_FACTOR: numberVar(1.25, 1.01, 10),
  MAGLEV_TABLE_SIZE: intVar(DEFAULT_MAGLEV_TABLE_SIZE, 101, 5_000_011),
  RING_POINTS_PER_WEIGHT: intVar(160, 1, 10_000),
  /** query:<name> | header:<name> | cookie:<name> | path | client-ip */
  HASH_KEY: z.string().default('query:request_id'),
  /** Header where requests declare `cpu:storage` demand for the drf strategy. */
  DEMAND_HEADER: z.string().default('x-ringmaster-demand'),

  UPSTREAM_CONNECT_TIMEOUT_MS: intVar(2 * SECOND, 10, MINUTE),
  UPSTREAM_HEADERS_TIMEOUT_MS: intVar(30 * SECOND, 10, 10 * MINUTE),
  UPSTREAM_BODY_TIMEOUT_MS: intVar(30 * SECOND, 10, 10 * MINUTE),
  /** Idle upstream sockets close after this; keep it below the servers' keep-alive (5 s in Node). */
  UPSTREAM_IDLE_TIMEOUT_MS: intVar(4 * SECOND, 100, 10 * MINUTE),
  UPSTREAM_CONNECTIONS: intVar(256, 1, 10_000),

  /** Slowloris guard: a client must finish its headers within this. */
  CLIENT_HEADERS_TIMEOUT_MS: intVar(10 * SECOND, 100, 10 * MINUTE),
  CLIENT_REQUEST_TIMEOUT_MS: intVar(5 * MINUTE, 100, 60 * MINUTE),
  /**
   * Above the load balancer's idle timeout, so the balancer closes first (the CDK app sets it to the
   * ALB's idle timeout plus 5 s; the ALB allows up to 4,000 s).
   */
  CLIENT_KEEPALIVE_TIMEOUT_MS: intVar(65 * SECOND, 100, 4100 * SECOND),
  MAX_HEADER_BYTES: intVar(16 * 1024, 1024, 256 * 1024),
  MAX_BODY_BYTES: intVar(1024 * 1024, 0, 1024 * 1024 * 1024),
  /** More request header fields than this get 431 (Apache's LimitRequestFields default). */
  MAX_HEADER_COUNT: intVar(100, 1, 10_000),
  /**
   * The client-facing HTTP/1.1 implementation: `net` (the proxy's own connection handling on
   * Node's bundled llhttp, faster) or `http` (Node's http server, the reference and fallback).
   * Both serve the records API's routes when it is on.
   */
  DATA_PLANE: z.enum(['net', 'http']).default('net'),
  /**
   * The client that forwards requests to the servers: `llhttp` (the proxy's own keep-alive pool on
   * Node's bundled llhttp, faster) or `undici` (the reference and fallback). Health checks and the
   * records API use undici either way.
   */
  UPSTREAM_CLIENT: z.enum(['llhttp', 'undici']).default('llhttp'),

  HEALTH_INTERVAL_MS: intVar(SECOND, 50, MINUTE),
  HEALTH_TIMEOUT_MS: intVar(800, 10, MINUTE),
  HEALTH_PATH: z.string().startsWith('/').default('/heartbeat'),
  UNHEALTHY_THRESHOLD: intVar(2, 1, 100),
  HEALTHY_THRESHOLD: intVar(1, 1, 100),
  EJECT_CONSECUTIVE_FAILURES: intVar(5, 1, 1000),
  EJECT_BASE_MS: intVar(30 * SECOND, 10, 60 * MINUTE),
  EJECT_MAX_MS: intVar(5 * MINUTE, 10, 24 * 60 * MINUTE),
  /** Below this fraction of healthy members, route to every member (panic mode). */
  PANIC_THRESHOLD: numberVar(0.5, 0, 1),
  /** Unset: 0 for the consistent-hashing strategies, 30 s for the others (see defaultSlowStartMs). */
  SLOW_START_MS: optionalIntVar(0, 60 * MINUTE),
  SLOW_START_INITIAL_WEIGHT: numberVar(0.1, 0.01, 1),

  MAX_ATTEMPTS: intVar(3, 1, 10),
  RETRY_BUDGET_RATIO: numberVar(0.2, 0, 1),
  RETRY_BUDGET_MIN: intVar(3, 0, 10_000),
  /** A retry over the budget waits this long for a slot before the request fails. */
  RETRY_WAIT_MS: intVar(1000, 0, MINUTE),

  /** A tunnel (WebSocket or other upgrade) with no byte either way for this long is closed. */
  TUNNEL_IDLE_TIMEOUT_MS: intVar(5 * MINUTE, SECOND, 4000 * SECOND),
  /** Tunnels open at once on this proxy; past it a new upgrade gets 503 with Retry-After. 0 refuses every upgrade. */
  MAX_TUNNELS: intVar(10_000, 0, 1_000_000),
  /** On /rm of a server, or SIGTERM, its open tunnels get this long before the proxy closes them. */
  TUNNEL_DRAIN_MS: intVar(20 * SECOND, 0, 60 * MINUTE),

  DRAIN_TIMEOUT_MS: intVar(30 * SECOND, 0, 60 * MINUTE),
  SHUTDOWN_TIMEOUT_MS: intVar(25 * SECOND, 0, 60 * MINUTE),

  MEMBERSHIP: z.enum(['registry', 'static', 'dynamodb']).default('registry'),
  LEASE_MS: intVar(10 * SECOND, 500, 10 * MINUTE),
  /** dynamodb membership: the Ring table, read every RING_REFRESH_MS. */
  RING_TABLE: tableNameVar(),
  RING_REFRESH_MS: intVar(SECOND, 100, MINUTE),
  /** Records API (sharded database): all three tables, or none to turn it off. */
  SHARD_TABLE: tableNameVar(),
  MAP_TABLE: tableNameVar(),
  RECORDS_TABLE: tableNameVar(),
  SHARD_MANAGER_INTERVAL_MS: intVar(SECOND, 100, MINUTE),
  /**
   * The most servers /add may reach and the local registry admits: the fleet size the Maglev table is
   * sized for (MAX_TABLE_MEMBERS, 1,000, which cdk.json's schema also allows), tested in consistent-hashing.test.ts.
   */
  MAX_SERVERS: intVar(MAX_TABLE_MEMBERS, 1, MAX_TABLE_MEMBERS),

  /** The autoscaler's state table: when set, /status and the balance page show its last tick. */
  AUTOSCALER_STATE_TABLE: tableNameVar(),
  AUTOSCALER_REFRESH_MS: intVar(5 * SECOND, 500, 10 * MINUTE),
  /** Where load figures go each period: nowhere but /metrics (local runs), or CloudWatch (on AWS). */
  METRICS_SINK: z.enum(['none', 'cloudwatch']).default('none'),
  METRICS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._/#:-]{1,255}$/, {
      error: 'expected a CloudWatch namespace (1-255 of A-Z a-z 0-9 . _ / # : -)',
    })
    .default(DEFAULT_METRICS_NAMESPACE),
  METRICS_PERIOD_MS: intVar(MINUTE, SECOND, 60 * MINUTE),
  /** The deployment's name: the Environment dimension of every metric. */
  ENV_NAME: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,15}$/, { error: 'expected 1-16 lower-case letters, digits or "-"' })
    .default('local'),

  /**
   * What /add and /rm act through: nothing, or the servers' ECS service (what the CDK app sets).
   * Local server processes (SCALER=local, local-ecs) are the development entry point's.
   */
  SCALER: z
    .enum(['none', 'ecs'], {
      error: (issue) =>
        issue.input === 'local' || issue.input === 'local-ecs'
          ? `SCALER=${String(issue.input)} starts server processes, which only the development entry point does: run dist/dev-proxy.js (scripts/local/dev-proxy.ts), not the production proxy`
          : 'expected none or ecs',
    })
    .default('none'),
  /** ecs scaler: the cluster and the servers' service (names or ARNs). */
  ECS_CLUSTER: z.string().default(''),
  ECS_SERVER_SERVICE: z.string().default(''),
  /** How long /add waits for each new server to register. */
  REGISTER_WAIT_MS: intVar(10 * SECOND, 100, 10 * MINUTE),
});

export type ProxyEnv = z.infer<typeof schema>;
export type ProxyConfig = Omit<ProxyEnv, 'SLOW_START_MS'> & {
  /** The slow-start ramp in force: configured, or the strategy's default. */
  readonly SLOW_START_MS: number;
  readonly adminToken: string | undefined;
  readonly keySource: ReturnType<typeof parseKeySource>;
  readonly staticServers: readonly { id: string; address: string }[];
};

export function loadProxyConfig(env: Record<string, string | undefined>): ProxyConfig {
  const parsed = parseEnv(schema, env, 'proxy');
  const adminToken = readSecret(env, 'ADMIN_TOKEN');
  if (!adminToken && !parsed.RINGMASTER_LOCAL_DEV) {
    throw new ConfigError(
      'ADMIN_TOKEN: required (or ADMIN_TOKEN_FILE); set RINGMASTER_LOCAL_DEV=1 to run the admin API without one locally',
      ['ADMIN_TOKEN: required'],
    );
  }
  if (parsed.MEMBERSHIP === 'dynamodb' && !parsed.RING_TABLE) {
    throw new ConfigError('RING_TABLE: required when MEMBERSHIP=dynamodb', ['RING_TABLE: required']);
  }
  checkRecordTables(parsed);
  if (parsed.SEED_COMPAT) checkSeedCompat(parsed);
  if (parsed.SCALER === 'ecs' && (!parsed.ECS_CLUSTER || !parsed.ECS_SERVER_SERVICE)) {
    throw new ConfigError('ECS_CLUSTER, ECS_SERVER_SERVICE: required when SCALER=ecs', ['ECS_CLUSTER: required']);
  }
  let keySource: ReturnType<typeof parseKeySource>;
  try {
    keySource = parseKeySource(parsed.HASH_KEY);
  } catch (cause) {
    throw new ConfigError(`HASH_KEY: ${(cause as Error).message}`, ['HASH_KEY: invalid'], { cause });
  }
  return {
    ...parsed,
    SLOW_START_MS: parsed.SLOW_START_MS ?? defaultSlowStartMs(parsed.STRATEGY),
    adminToken,
    keySource,
    staticServers: parseStaticServers(parsed.STATIC_SERVERS),
  };
}

/**
 * The compatibility mode serves admin routes without a token, so it may only listen where no
 * other machine can reach it, and only where the records API (which serves it) is on.
 */
function checkSeedCompat(parsed: ProxyEnv): void {
  if (!isLoopbackHost(parsed.PROXY_HOST)) {
    throw new ConfigError(
      `SEED_COMPAT: serves /rep, /add, /rm and /init without a token, so PROXY_HOST must be a loopback address (127.0.0.1, ::1 or localhost), got "${parsed.PROXY_HOST}"; unset SEED_COMPAT or bind the data port to loopback`,
      ['SEED_COMPAT: needs a loopback PROXY_HOST'],
    );
  }
  if (!parsed.SHARD_TABLE) {
    throw new ConfigError(
      'SEED_COMPAT: needs the records API (SHARD_TABLE, MAP_TABLE, RECORDS_TABLE), which serves it',
      ['SEED_COMPAT: needs SHARD_TABLE'],
    );
  }
}

function parseStaticServers(text: string): { id: string; address: string }[] {
  if (!text.trim()) return [];
  return text.split(',').map((entry, index) => {
    const [id, address] = entry.split('=').map((s) => s.trim());
    if (!id || !address || !/^https?:\/\/[^/]+$/.test(address)) {
      throw new ConfigError(`STATIC_SERVERS: entry ${index} must look like id=http://host:port, got "${entry}"`, [
        'STATIC_SERVERS: malformed',
      ]);
    }
    return { id, address };
  });
}
