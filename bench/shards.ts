/**
 * `npm run bench:shards -- --json`: the sharded records API against the
 * emulator. For each layout it writes N single-row records and reads N
 * single ids at random through the proxy (proxy → primary or replica server
 * → DynamoDB), then performs the same operations through a direct DynamoDB
 * client (the same transaction for a write; a Query for a read, as a server
 * without its cache would), all in one run, and prints rates and ratios.
 *
 * Layouts: the assignments' 6 servers with 4 shards × 3 replicas, 4 shards ×
 * 7 replicas (on 7 servers), and 10 servers with 6 shards × 8 replicas.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { Pool } from 'undici';
import { createTables, type TableNames, tableEnv } from '#core/aws/tables.js';
import { ClusterStore } from '#core/records/cluster-store.js';
import { RecordsStore } from '#core/records/records-store.js';
import { emulatorClient, emulatorEnv, quietSdkNodeNotice, useEmulator } from '../scripts/lib/emulator.js';
import { type Started, stopProcess } from '../scripts/lib/spawn.js';
import { ROOT, startProxy, startServer } from './lib/processes.js';
import { seededRandom } from './lib/random.js';

const json = process.argv.includes('--json');
// This process talks to the emulator with the pinned SDK; its Node 22 notice is noise here.
quietSdkNodeNotice();
const argValue = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const OPS = argValue('--ops', 10_000);
const CONCURRENCY = argValue('--concurrency', 32);
const SHARD_SIZE = 4096;
/**
 * Direct Query reads are sampled: MiniStack's Query scans the whole partition
 * (about 150 ms at 4,096 rows), so 10,000 of them would take most of an hour.
 */
const DIRECT_QUERY_SAMPLE = 200;

interface Layout {
  name: string;
  servers: number;
  shards: number;
  replicas: number;
}
const LAYOUTS: Layout[] = [
  { name: '6 servers, 4 shards x 3 replicas', servers: 6, shards: 4, replicas: 3 },
  { name: '7 servers, 4 shards x 7 replicas', servers: 7, shards: 4, replicas: 7 },
  { name: '10 servers, 6 shards x 8 replicas', servers: 10, shards: 6, replicas: 8 },
];
const SCHEMA = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'Number'] };
const row = (id: number) => ({ Stud_id: id, Stud_name: `student-${id}`, Stud_marks: id % 100 });
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Runs `count` operations with CONCURRENCY workers and returns operations per second. */
async function rate(count: number, op: (i: number) => Promise<boolean>): Promise<{ perSec: number; errors: number }> {
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
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

async function runLayout(layout: Layout, endpoint: string) {
  const aws = emulatorEnv(endpoint);
  const suffix = randomBytes(3).toString('hex');
  const names: TableNames = {
    ring: `bench-ring-${suffix}`,
    shards: `bench-shards-${suffix}`,
    map: `bench-map-${suffix}`,
    records: `bench-records-${suffix}`,
  };
  const directNames: TableNames = {
    ...names,
    shards: `${names.shards}-d`,
    map: `${names.map}-d`,
    records: `${names.records}-d`,
  };
  const client = emulatorClient(endpoint);
  await createTables(client, names);
  await createTables(client, directNames);
  const env = { ...aws, ...tableEnv(names) };
  const procs: Started[] = [];
  try {
    for (let i = 0; i < layout.servers; i++) procs.push((await startServer(`s${i + 1}`, env)).proc);
    const ringmaster = await startProxy({ ...env, MEMBERSHIP: 'dynamodb' });
    procs.push(ringmaster.proc);
    const token = ringmaster.token;
    const proxy = new Pool(ringmaster.url, { connections: CONCURRENCY });
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
    // Every server must be a member before /init places replicas on them.
    for (let waited = 0; ; waited += 100) {
      const res = await admin.request({ method: 'GET', path: '/rep', headers: { authorization: `Bearer ${token}` } });
      const rep = (await res.body.json()) as { message: { N: number } };
      if (rep.message.N === layout.servers) break;
      if (waited > 15_000) throw new Error(`only ${rep.message.N} of ${layout.servers} servers registered`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const shards = Array.from({ length: layout.shards }, (_, k) => ({
      Stud_id_low: k * SHARD_SIZE,
      Shard_id: `sh${k + 1}`,
      Shard_size: SHARD_SIZE,
    }));
    const init = { N: layout.servers, schema: SCHEMA, shards, replicas: layout.replicas };
    const initStatus = await call('POST', '/init', init, { authorization: `Bearer ${token}` });
    if (initStatus !== 200) throw new Error(`/init answered ${initStatus}`);

    const idSpace = layout.shards * SHARD_SIZE;
    const ids = shuffledIds(Math.min(OPS, idSpace), idSpace, layout.servers);
    const proxyWrites = await rate(
      ids.length,
      async (i) => (await call('POST', '/write', { data: [row(ids[i] as number)] })) === 200,
    );
    const readIds = ids.map((_, i) => ids[(i * 31) % ids.length] as number);
    const proxyReads = await rate(OPS, async (i) => {
      const id = readIds[i % readIds.length] as number;
      return (await call('POST', '/read', { Stud_id: { low: id, high: id } })) === 200;
    });
    await proxy.close();
    await admin.close();

    // The same operations, straight to DynamoDB: one server id acting as every shard's primary.
    const doc = DynamoDBDocumentClient.from(client);
    const cluster = new ClusterStore(doc, { shards: directNames.shards, map: directNames.map });
    await cluster.init(
      { N: 1, schema: SCHEMA as never, replicas: 1 },
      shards,
      shards.map((s) => ({ Shard_id: s.Shard_id, Server_id: 'direct', primary: true })),
    );
    const store = new RecordsStore(doc, directNames);
    const shardOf = (id: number) => `sh${Math.floor(id / SHARD_SIZE) + 1}`;
    const directWrites = await rate(ids.length, async (i) => {
      const id = ids[i] as number;
      await store.insert(shardOf(id), 'direct', [row(id)]);
      return true;
    });
    const directReads = await rate(Math.min(OPS, DIRECT_QUERY_SAMPLE), async (i) => {
      const id = readIds[i % readIds.length] as number;
      return (await store.readRange(shardOf(id), id, id)).length === 1;
    });
    const directGets = await rate(OPS, async (i) => {
      const id = readIds[i % readIds.length] as number;
      const res = await doc.send(
        new GetCommand({
          TableName: directNames.records,
          Key: { Shard_id: shardOf(id), Stud_id: id },
          ConsistentRead: true,
        }),
      );
      return res.Item !== undefined;
    });
    return {
      layout: layout.name,
      servers: layout.servers,
      shards: layout.shards,
      replicas: layout.replicas,
      operations: { writes: ids.length, reads: OPS, directQueryReadsSampled: Math.min(OPS, DIRECT_QUERY_SAMPLE) },
      proxy: {
        writesPerSec: proxyWrites.perSec,
        readsPerSec: proxyReads.perSec,
        errors: proxyWrites.errors + proxyReads.errors,
      },
      direct: {
        writesPerSec: directWrites.perSec,
        readsPerSec: directReads.perSec,
        getItemReadsPerSec: directGets.perSec,
        errors: directWrites.errors + directReads.errors + directGets.errors,
      },
      proxyOverhead: {
        writes: round(directWrites.perSec / proxyWrites.perSec),
        reads: round(directReads.perSec / proxyReads.perSec),
        readsVsGetItem: round(directGets.perSec / proxyReads.perSec),
      },
    };
  } finally {
    for (const p of procs.reverse()) await stopProcess(p.child);
  }
}

async function main(): Promise<void> {
  const emulator = await useEmulator(ROOT);
  try {
    const results = [];
    for (const layout of LAYOUTS) results.push(await runLayout(layout, emulator.endpoint));
    const report = {
      emulator: emulator.owned ? 'MiniStack (started for this run)' : `AWS_ENDPOINT_URL=${emulator.endpoint}`,
      concurrency: CONCURRENCY,
      note: 'proxyOverhead = direct rate / proxy rate (above 1: the proxy path is slower). Direct reads use Query, as a server without its cache would; getItemReadsPerSec is the cheapest possible single-id read.',
      results,
    };
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await emulator.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:shards failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
