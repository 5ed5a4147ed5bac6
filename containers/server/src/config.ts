import { hostname, networkInterfaces, totalmem } from 'node:os';
import { z } from 'zod';
import {
  ConfigError,
  checkRecordTables,
  intVar,
  logLevelVar,
  optionalIntVar,
  parseEnv,
  portVar,
  tableNameVar,
} from '#core/config/env.js';
import { readSecret } from '#core/config/secret.js';
import { SERVER_ID_PATTERN, SERVER_ID_RULE } from '#core/membership/server-id.js';

/**
 * Ring heartbeats are billed writes (one unit each, about 0.33 USD per
 * server per month at 5 s, 0.82 at the old 2 s). The lease mostly decides
 * when a dead server leaves the hash table and its shards get new
 * primaries: proxies' health checks and ejection route around it within
 * seconds anyway. 15 s survives two lost beats; a dead server leaves every
 * proxy about 15-17 s after its last beat (docs/control-plane.md).
 */
export const RING_HEARTBEAT_INTERVAL_MS = 5000;
export const RING_LEASE_MS = 15_000;
/** Heartbeats to the proxy's own registry (local runs) cost nothing, so they stay frequent. */
export const REGISTRY_HEARTBEAT_INTERVAL_MS = 2000;

const schema = z.object({
  SERVER_ID: z.string().regex(SERVER_ID_PATTERN, { error: SERVER_ID_RULE }).optional(),
  SERVER_HOST: z.string().default('0.0.0.0'),
  SERVER_PORT: portVar(8080),
  /** Address proxies dial; derived from the host and port when unset. */
  ADVERTISE_ADDRESS: z
    .string()
    .regex(/^http:\/\/[^/\s]+:\d{1,5}$/, { error: 'expected http://host:port' })
    .optional(),
  /** Lease registry to heartbeat into (the proxy's /members); unset disables self-registration. */
  REGISTRY_URL: z.url({ error: 'expected a URL' }).optional(),
  /** DynamoDB Ring table to heartbeat into (the AWS way); exclusive with REGISTRY_URL. */
  RING_TABLE: tableNameVar(),
  /** Records tables (all three, or none): the shard work this server does. */
  SHARD_TABLE: tableNameVar(),
  MAP_TABLE: tableNameVar(),
  RECORDS_TABLE: tableNameVar(),
  /** Unset: RING_HEARTBEAT_INTERVAL_MS with RING_TABLE (each beat is a billed write), else REGISTRY_HEARTBEAT_INTERVAL_MS. */
  HEARTBEAT_INTERVAL_MS: optionalIntVar(50, 60_000),
  /** The Ring lease (with REGISTRY_URL the proxy's LEASE_MS decides). */
  LEASE_MS: intVar(RING_LEASE_MS, 500, 600_000),
  SERVER_WEIGHT: intVar(1, 1, 1000),
  /** Artificial work per /home request, for benchmarks. */
  SERVER_WORK_LATENCY_MS: intVar(0, 0, 60_000),
  SERVER_WORK_CPU_MS: intVar(0, 0, 10_000),
  /** Test hook: answer /home with this status instead of 200 (0 = off). */
  SERVER_FAIL_STATUS: intVar(0, 0, 599),
  /** Node's default; proxies keep their idle upstream sockets shorter than this. */
  KEEPALIVE_TIMEOUT_MS: intVar(5000, 100, 600_000),
  SHUTDOWN_TIMEOUT_MS: intVar(10_000, 0, 600_000),
  /** Largest WebSocket message /ws accepts (1 MiB); a bigger one closes the socket with 1009. */
  WS_MAX_MESSAGE_BYTES: intVar(1024 * 1024, 1, 64 * 1024 * 1024),
  MEMORY_LIMIT_BYTES: intVar(0, 0, Number.MAX_SAFE_INTEGER),
  LOG_LEVEL: logLevelVar(),
});

export type ServerConfig = Omit<z.infer<typeof schema>, 'HEARTBEAT_INTERVAL_MS'> & {
  readonly HEARTBEAT_INTERVAL_MS: number;
  readonly id: string;
  readonly registryToken: string | undefined;
  readonly memoryLimitBytes: number;
};

export function loadServerConfig(env: Record<string, string | undefined>): ServerConfig {
  const parsed = parseEnv(schema, env, 'server');
  const id = parsed.SERVER_ID ?? hostname().slice(0, 63);
  if (!SERVER_ID_PATTERN.test(id))
    throw new ConfigError(`SERVER_ID: unset and hostname "${id}" is not a valid id`, ['SERVER_ID']);
  if (parsed.REGISTRY_URL && parsed.RING_TABLE) {
    throw new ConfigError('REGISTRY_URL and RING_TABLE: set one, not both', ['REGISTRY_URL', 'RING_TABLE']);
  }
  checkRecordTables(parsed);
  const heartbeatMs =
    parsed.HEARTBEAT_INTERVAL_MS ?? (parsed.RING_TABLE ? RING_HEARTBEAT_INTERVAL_MS : REGISTRY_HEARTBEAT_INTERVAL_MS);
  if (parsed.LEASE_MS <= heartbeatMs) {
    throw new ConfigError('LEASE_MS: must be longer than HEARTBEAT_INTERVAL_MS', ['LEASE_MS']);
  }
  return {
    ...parsed,
    HEARTBEAT_INTERVAL_MS: heartbeatMs,
    id,
    registryToken: readSecret(env, 'REGISTRY_TOKEN'),
    memoryLimitBytes: parsed.MEMORY_LIMIT_BYTES || totalmem(),
  };
}

/** The address to advertise once the real port is known. */
export function advertiseAddress(config: ServerConfig, port: number): string {
  if (config.ADVERTISE_ADDRESS) return config.ADVERTISE_ADDRESS;
  const host =
    config.SERVER_HOST === '0.0.0.0' || config.SERVER_HOST === '::' ? firstExternalIPv4() : config.SERVER_HOST;
  return `http://${host}:${port}`;
}

function firstExternalIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    // Link-local addresses (169.254/16) are never reachable from another task: Fargate gives tasks one
    // for the metadata endpoint next to the ENI address the proxies must dial.
    for (const nic of list ?? []) {
      if (nic.family === 'IPv4' && !nic.internal && !nic.address.startsWith('169.254.')) return nic.address;
    }
  }
  return '127.0.0.1';
}
