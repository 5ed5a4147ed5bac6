/**
 * A Ringmaster as `npm start` runs it, for experiments: fresh tables on the
 * emulator, the proxy bundle on free loopback ports with DynamoDB membership,
 * and its local scaler starting the servers (so the admin API's /add and /rm
 * act on real processes). Reuses the benchmark start-up helper; only the
 * environment is specific to this shape.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { request } from 'undici';
import { createTables, type TableNames, tableEnv } from '#core/aws/tables.js';
import { emulatorClient, emulatorEnv } from '#devkit/emulator.js';
import { type Started, stopProcess } from '#devkit/spawn.js';
import { ROOT, startProxy } from './processes.js';

/** Admin calls (/add waits for the new server to register) are bounded; a hung one fails the run. */
const ADMIN_TIMEOUT_MS = 60_000;

export interface ClusterOptions {
  readonly endpoint: string;
  readonly servers: number;
  /**
   * Start the proxy with SLOW_START_MS=0, so servers added during a run get
   * their full share at once. Off by default: experiments use the proxy's
   * own defaults unless asked otherwise.
   */
  readonly noSlowStart: boolean;
}

export interface AdminReply {
  readonly status: number;
  // biome-ignore lint/suspicious/noExplicitAny: callers read whatever JSON the admin API returns
  readonly body: any;
}

export interface LocalCluster {
  readonly url: string;
  readonly proc: Started;
  admin(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<AdminReply>;
  /** The server ids in the ring, as /rep lists them. */
  replicas(): Promise<string[]>;
  /** The proxy's strategy and each server's effective weight (below 1 while it is in slow start), from GET /status. */
  weights(): Promise<{ strategy: string; effectiveWeights: Record<string, number> }>;
  /** Stops the proxy (which stops its servers) and drops the tables. */
  stop(): Promise<void>;
}

export class AdminCallError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminCallError';
  }
}

export async function startLocalCluster(options: ClusterOptions): Promise<LocalCluster> {
  const suffix = randomBytes(3).toString('hex');
  const tables: TableNames = {
    ring: `exp-ring-${suffix}`,
    shards: `exp-shards-${suffix}`,
    map: `exp-map-${suffix}`,
    records: `exp-records-${suffix}`,
  };
  const client = emulatorClient(options.endpoint);
  await createTables(client, tables);
  const dropTables = () =>
    Promise.all(
      Object.values(tables).map((TableName) => client.send(new DeleteTableCommand({ TableName })).catch(() => {})),
    ).then(() => undefined);
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  try {
    proxy = await startProxy({
      ...emulatorEnv(options.endpoint),
      ...tableEnv(tables),
      MEMBERSHIP: 'dynamodb',
      SCALER: 'local',
      LOCAL_SERVER_ENTRY: join(ROOT, 'dist', 'server.js'),
      INITIAL_SERVERS: String(options.servers),
      ...(options.noSlowStart ? { SLOW_START_MS: '0' } : {}),
    });
  } catch (err) {
    await dropTables();
    throw err;
  }
  const admin: LocalCluster['admin'] = async (method, path, body) => {
    try {
      const res = await request(`${proxy.adminUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${proxy.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: ADMIN_TIMEOUT_MS,
        bodyTimeout: ADMIN_TIMEOUT_MS,
      });
      return { status: res.statusCode, body: await res.body.json() };
    } catch (err) {
      throw new AdminCallError(`admin ${method} ${path} failed`, { cause: err });
    }
  };
  return {
    url: proxy.url,
    proc: proxy.proc,
    admin,
    async replicas() {
      const rep = await admin('GET', '/rep');
      if (rep.status !== 200) throw new AdminCallError(`GET /rep answered ${rep.status}: ${JSON.stringify(rep.body)}`);
      return rep.body.message.replicas as string[];
    },
    async weights() {
      const status = await admin('GET', '/status');
      if (status.status !== 200) throw new AdminCallError(`GET /status answered ${status.status}`);
      const message = status.body.message as { strategy: string; servers: { id: string; effectiveWeight: number }[] };
      return {
        strategy: message.strategy,
        // Two decimals: slow start steps weights in tenths, and 0.30000000000000004 helps nobody.
        effectiveWeights: Object.fromEntries(
          message.servers.map((b) => [b.id, Math.round(b.effectiveWeight * 100) / 100]),
        ),
      };
    },
    async stop() {
      await stopProcess(proxy.proc.child);
      await dropTables();
    },
  };
}
