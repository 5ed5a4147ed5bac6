/**
 * The sharded records API measured against the emulator, one layout at a
 * time: N single-row writes and N single-id reads at random through the
 * proxy (proxy → primary or replica server → DynamoDB), and optionally the
 * same operations through a direct DynamoDB client (the same transaction for
 * a write; a Query for a read, as a server without its cache would).
 * Used by `npm run bench:shards` and by `npm run experiments` (A4).
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Pool } from 'undici';
import { ClusterStore } from '#core/aws/cluster-store.js';
import { RecordsStore } from '#core/aws/records-store.js';
import { createTables, type TableNames, tableEnv } from '#core/aws/tables.js';
import { seededRandom } from '#core/util/seeded-random.js';
import { emulatorClient, emulatorEnv } from '#devkit/emulator.js';
import { type Started, stopProcess } from '#devkit/spawn.js';
import { startProxy, startServer } from './processes.js';

const SHARD_SIZE = 4096;
/**
 * Direct Query reads are sampled: MiniStack's Query scans the whole partition
 * (about 150 ms at 4,096 rows), so 10,000 of them would take most of an hour.
 */
const DIRECT_QUERY_SAMPLE = 200;
/** How long every server may take to appear in the Ring before /init places replicas on them. */
const REGISTER_TIMEOUT_MS = 15_000;
const REGISTER_POLL_MS = 100;

export interface ShardLayout {
  readonly name: string;
  readonly servers: number;
  readonly shards: number;
  readonly replicas: number;
}

/** The assignments' 6 servers with 4 shards × 3 replicas, 4 shards × 7 replicas (on 7 servers), and 10 servers with 6 shards × 8 replicas. */
export const SHARD_LAYOUTS: readonly ShardLayout[] = [
  { name: '6 servers, 4 shards x 3 replicas', servers: 6, shards: 4, replicas: 3 },
  { name: '7 servers, 4 shards x 7 replicas', servers: 7, shards: 4, replicas: 7 },
  { name: '10 servers, 6 shards x 8 replicas', servers: 10, shards: 6, replicas: 8 },
];

export interface ShardBenchOptions {
  /** Writes (at most the layout's id space) and reads per layout. */
  readonly ops: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Also measure the same operations straight against DynamoDB (adds about a minute per layout). */
  readonly direct: boolean;
}

export interface DirectRates {
  readonly writesPerSec: number;
  readonly readsPerSec: number;
  readonly getItemReadsPerSec: number;
  readonly errors: number;
}

export interface ShardLayoutResult {
  readonly layout: string;
  readonly servers: number;
  readonly shards: number;
  readonly replicas: number;
  readonly operations: { writes: number; reads: number; directQueryReadsSampled?: number };
  readonly proxy: { writesPerSec: number; readsPerSec: number; errors: number };
  readonly direct?: DirectRates;
  readonly proxyOverhead?: { writes: number; reads: number; readsVsGetItem: number };
}

const SCHEMA = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'Number'] };
const row = (id: number) => ({ Stud_id: id, Stud_name: `student-${id}`, Stud_marks: id % 100 });
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Runs `count` operations with `concurrency` workers and returns operations per second. */
async function rate(
  count: number,
  concurrency: number,
  op: (i: number) => Promise<boolean>,
): Promise<{ perSec: number; errors: number }> {
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        if (!(await op(i).catch(() => false))) errors++;
      }
    }),
  );
  return { perSec: round(count / ((performance.now() - start) / 1000), 1), errors };
}

function shuffledIds(count: number, max: number, seed: number): number[] {
  // Distinct ids spread over every shard: a stride coprime with the id space.
  const stride = 7919;
  const offset = Math.floor(seededRandom(seed)() * max);
  return Array.from({ length: count }, (_, i) => (offset + i * stride) % max);
}

function tableNames(prefix: string): TableNames {
  const suffix = randomBytes(3).toString('hex');
  return {
    ring: `${prefix}-ring-${suffix}`,
    shards: `${prefix}-shards-${suffix}`,
    map: `${prefix}-map-${suffix}`,
    records: `${prefix}-records-${suffix}`,
  };
}

/** Measures one layout on fresh tables; every process it starts is stopped before it returns or throws. */
export async function runShardLayout(
  layout: ShardLayout,
  endpoint: string,
  options: ShardBenchOptions,
): Promise<ShardLayoutResult> {
  const names = tableNames('bench');
  const client = emulatorClient(endpoint);
  await createTables(client, names);
  const env = { ...emulatorEnv(endpoint), ...tableEnv(names) };
  const procs: Started[] = [];
  const shards = Array.from({ length: layout.shards }, (_, k) => ({
    Stud_id_low: k * SHARD_SIZE,
    Shard_id: `sh${k + 1}`,
    Shard_size: SHARD_SIZE,
  }));
  const idSpace = layout.shards * SHARD_SIZE;
  const ids = shuffledIds(Math.min(options.ops, idSpace), idSpace, layout.servers);
  const readIds = ids.map((_, i) => ids[(i * 31) % ids.length] as number);
  let proxyRates: ShardLayoutResult['proxy'];
  try {
    for (let i = 0; i < layout.servers; i++) procs.push((await startServer(`s${i + 1}`, env)).proc);
    const ringmaster = await startProxy({ ...env, MEMBERSHIP: 'dynamodb' });
    procs.push(ringmaster.proc);
    const token = ringmaster.token;
    const proxy = new Pool(ringmaster.url, { connections: options.concurrency });
    const admin = new Pool(ringmaster.adminUrl, { connections: 1 });
    const call = async (method: 'POST' | 'PUT', path: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await proxy.request({
        method,
        path,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      await res.body.dump();
      return res.statusCode;
    };
    try {
      // Every server must be a member before /init places replicas on them.
      for (let waited = 0; ; waited += REGISTER_POLL_MS) {
        const res = await admin.request({ method: 'GET', path: '/rep', headers: { authorization: `Bearer ${token}` } });
        const rep = (await res.body.json()) as { message: { N: number } };
        if (rep.message.N === layout.servers) break;
        if (waited > REGISTER_TIMEOUT_MS)
          throw new Error(`only ${rep.message.N} of ${layout.servers} servers registered`);
        await new Promise((r) => setTimeout(r, REGISTER_POLL_MS));
      }
      const init = { N: layout.servers, schema: SCHEMA, shards, replicas: layout.replicas };
      const initStatus = await call('POST', '/init', init, { authorization: `Bearer ${token}` });
      if (initStatus !== 200) throw new Error(`/init answered ${initStatus}`);

      const writes = await rate(
        ids.length,
        options.concurrency,
        async (i) => (await call('POST', '/write', { data: [row(ids[i] as number)] })) === 200,
      );
      const reads = await rate(options.ops, options.concurrency, async (i) => {
        const id = readIds[i % readIds.length] as number;
        return (await call('POST', '/read', { Stud_id: { low: id, high: id } })) === 200;
      });
      proxyRates = { writesPerSec: writes.perSec, readsPerSec: reads.perSec, errors: writes.errors + reads.errors };
    } finally {
      await proxy.close();
      await admin.close();
    }
  } finally {
    for (const p of procs.reverse()) await stopProcess(p.child);
  }

  const base = {
    layout: layout.name,
    servers: layout.servers,
    shards: layout.shards,
    replicas: layout.replicas,
    operations: { writes: ids.length, reads: options.ops },
    proxy: proxyRates,
  };
  if (!options.direct) return base;
  const direct = await runDirect(endpoint, shards, ids, readIds, options);
  return {
    ...base,
    operations: { ...base.operations, directQueryReadsSampled: Math.min(options.ops, DIRECT_QUERY_SAMPLE) },
    direct,
    proxyOverhead: {
      writes: round(direct.writesPerSec / proxyRates.writesPerSec),
      reads: round(direct.readsPerSec / proxyRates.readsPerSec),
      readsVsGetItem: round(direct.getItemReadsPerSec / proxyRates.readsPerSec),
    },
  };
}

/** The same operations straight to DynamoDB: one server id acting as every shard's primary. */
async function runDirect(
  endpoint: string,
  shards: { Stud_id_low: number; Shard_id: string; Shard_size: number }[],
  ids: readonly number[],
  readIds: readonly number[],
  options: ShardBenchOptions,
): Promise<DirectRates> {
  const names = tableNames('bench-direct');
  const client = emulatorClient(endpoint);
  await createTables(client, names);
  const doc = DynamoDBDocumentClient.from(client);
  const cluster = new ClusterStore(doc, { shards: names.shards, map: names.map });
  await cluster.init(
    { N: 1, schema: SCHEMA as never, replicas: 1 },
    shards,
    shards.map((s) => ({ Shard_id: s.Shard_id, Server_id: 'direct', primary: true })),
  );
  const store = new RecordsStore(doc, names);
  const shardOf = (id: number) => `sh${Math.floor(id / SHARD_SIZE) + 1}`;
  const writes = await rate(ids.length, options.concurrency, async (i) => {
    const id = ids[i] as number;
    await store.insert(shardOf(id), 'direct', [row(id)]);
    return true;
  });
  const queries = await rate(Math.min(options.ops, DIRECT_QUERY_SAMPLE), options.concurrency, async (i) => {
    const id = readIds[i % readIds.length] as number;
    return (await store.readRange(shardOf(id), id, id)).length === 1;
  });
  const gets = await rate(options.ops, options.concurrency, async (i) => {
    const id = readIds[i % readIds.length] as number;
    const res = await doc.send(
      new GetCommand({ TableName: names.records, Key: { Shard_id: shardOf(id), Stud_id: id }, ConsistentRead: true }),
    );
    return res.Item !== undefined;
  });
  return {
    writesPerSec: writes.perSec,
    readsPerSec: queries.perSec,
    getItemReadsPerSec: gets.perSec,
    errors: writes.errors + queries.errors + gets.errors,
  };
}
