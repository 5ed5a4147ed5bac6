import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '#core/util/seeded-random.js';
import { awsEnv, createTestTables, type TestTables, testClients } from '../helpers/aws.js';
import { startTestProxy, startTestServer, type TestProxy, type TestServer, waitFor } from '../helpers/processes.js';

const SERVERS = ['a', 'b', 'c', 'd', 'e', 'f'];
const SHARD_SIZE = 4096;
// Promotion takes lease expiry + one Ring refresh (1 s) + one manager tick (1 s); 4 s leases leave margin inside "2 leases".
const LEASE_MS = 4000;
const INIT = {
  N: 6,
  schema: { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'Number'] },
  shards: [0, 1, 2, 3].map((k) => ({ Stud_id_low: k * SHARD_SIZE, Shard_id: `sh${k + 1}`, Shard_size: SHARD_SIZE })),
};

const row = (id: number) => ({ Stud_id: id, Stud_name: `student-${id}`, Stud_marks: id % 100 });

// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the API returns
type Json = any;

async function call(
  proxy: TestProxy,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Json }> {
  const res = await request(`${proxy.url}${path}`, {
    method: method as 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
}

/** Runs `jobs` with `concurrency` workers; bounded by the job count. */
async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await (jobs[i] as () => Promise<T>)();
      }
    }),
  );
  return out;
}

function shuffled(ids: number[], seed: number): number[] {
  const random = seededRandom(seed);
  const out = [...ids];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

describe('sharded records through the proxy', () => {
  let tables: TestTables;
  let servers: Map<string, TestServer>;
  let proxy: TestProxy;
  /** A second proxy: two shard managers race on every change, as replicas on ECS would. */
  let peer: TestProxy;

  beforeAll(async () => {
    tables = await createTestTables('records');
    const env = { ...awsEnv(), ...tables.env, HEARTBEAT_INTERVAL_MS: '500', LEASE_MS: String(LEASE_MS) };
    servers = new Map(
      await Promise.all(SERVERS.map(async (id) => [id, await startTestServer(id, undefined, env)] as const)),
    );
    [proxy, peer] = (await Promise.all(
      [0, 1].map(() => startTestProxy({ ...awsEnv(), ...tables.env, MEMBERSHIP: 'dynamodb' })),
    )) as [TestProxy, TestProxy];
    for (const p of [proxy, peer])
      await waitFor(async () => (await p.admin('GET', '/rep')).body.message.N === 6, 5000, 'six servers');
  });
  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    expect(await proxy.stop()).toBe(0);
    expect(await peer.stop()).toBe(0);
    await tables.drop();
  });

  it('refuses to work before /init, and /init needs the admin token', async () => {
    expect((await call(proxy, 'POST', '/read', { Stud_id: { low: 0, high: 1 } })).status).toBe(409);
    const anonymous = await call(proxy, 'POST', '/init', INIT);
    expect(anonymous.status).toBe(401);
    // Servers that cannot be named (no scaler here; ECS tasks on AWS): a name not live is refused, naming the live ones.
    const named = await call(
      proxy,
      'POST',
      '/init',
      { ...INIT, N: 1, servers: { Server0: ['sh1', 'sh2', 'sh3', 'sh4'] } },
      proxy.token,
    );
    expect(named.status).toBe(400);
    expect(named.body.message).toBe(
      'servers.Server0: not a live server, and servers cannot be created under chosen names here (on ECS each task takes its own id); name live servers (a, b, c, d, e, f) or omit "servers" to spread the shards over N of them',
    );
    // The compatibility routes are not on the data port without SEED_COMPAT: /rep goes to a server, which has no such route.
    expect((await call(proxy, 'GET', '/rep')).status).toBe(404);
  });

  it('init: 4 shards × 3 replicas spread over 6 servers, one primary each', async () => {
    const init = await call(proxy, 'POST', '/init', INIT, proxy.token);
    expect(init).toEqual({ status: 200, body: { message: 'Configured Database', status: 'success' } });
    expect((await call(proxy, 'POST', '/init', INIT, proxy.token)).status).toBe(409);
    const status = (await call(proxy, 'GET', '/status')).body;
    expect(status.N).toBe(6);
    expect(status.schema).toEqual(INIT.schema);
    expect(status.shards).toHaveLength(4);
    for (const shard of status.shards) {
      expect(shard.replicas).toHaveLength(3);
      expect(shard.replicas).toContain(shard.primary);
      expect(shard.valid_idx).toBe(0);
    }
    // 12 replicas over 6 servers: two each; 4 primaries on 4 different servers.
    expect(Object.values(status.servers).map((s) => (s as string[]).length)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(new Set(status.shards.map((s: { primary: string }) => s.primary)).size).toBe(4);
  });

  it('10,000 writes, then 10,000 reads verify every row', async () => {
    const ids = shuffled(
      Array.from({ length: 10_000 }, (_, i) => i),
      1,
    );
    const batches = Array.from({ length: 100 }, (_, b) => ids.slice(b * 100, b * 100 + 100));
    const writes = await pool(
      batches.map((batch) => () => call(proxy, 'POST', '/write', { data: batch.map(row) })),
      8,
    );
    for (const w of writes)
      expect(w).toEqual({ status: 200, body: { message: '100 Data entries added', status: 'success' } });

    const reads = await pool(
      ids.map((id) => async () => {
        const r = await call(proxy, 'POST', '/read', { Stud_id: { low: id, high: id } });
        return (
          r.status === 200 && r.body.data.length === 1 && JSON.stringify(r.body.data[0]) === JSON.stringify(row(id))
        );
      }),
      16,
    );
    expect(reads.filter((ok) => !ok)).toHaveLength(0);

    const all = await call(proxy, 'POST', '/read', { Stud_id: { low: 0, high: 16_383 } });
    expect(all.body.shards_queried).toEqual(['sh1', 'sh2', 'sh3', 'sh4']);
    expect(all.body.data).toHaveLength(10_000);
    expect(all.body.data.map((r: { Stud_id: number }) => r.Stud_id)).toEqual(
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    const status = (await call(proxy, 'GET', '/status')).body;
    expect(status.shards.reduce((n: number, s: { valid_idx: number }) => n + s.valid_idx, 0)).toBe(10_000);
  }, 180_000);

  it('answers bad input with 400 naming the field, and writes nothing of a bad batch', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/write', { data: [row(20_000)] }, 400, /^data\[0\]\.Stud_id: 20000 is outside every shard/],
      [
        'POST',
        '/write',
        { data: [row(12_000), { ...row(12_001), Stud_email: 'x' }] },
        400,
        /^data\[1\]\.Stud_email: unknown column/,
      ],
      [
        'POST',
        '/write',
        { data: [{ ...row(12_002), Stud_marks: 'high' }] },
        400,
        /^data\[0\]\.Stud_marks: expected a number, got "high"/,
      ],
      ['POST', '/write', { data: [{ Stud_id: 12_003, Stud_name: 'x' }] }, 400, /^data\[0\]\.Stud_marks: missing/],
      [
        'POST',
        '/write',
        { data: [row(12_004), row(12_005), row(12_004)] },
        400,
        /^data\[2\]\.Stud_id: 12004 also appears at data\[0\]/,
      ],
      [
        'POST',
        '/write',
        { data: [{ ...row(12_006), Stud_id: 1.5 }] },
        400,
        /^data\[0\]\.Stud_id: expected a whole number/,
      ],
      ['POST', '/write', { data: [] }, 400, /^data: must hold at least one row/],
      ['POST', '/write', { data: [row(12_007)], rows: [] }, 400, /^rows: unknown field/],
      [
        'POST',
        '/write',
        { data: Array.from({ length: 99 }, (_, i) => row(12_100 + i)) },
        400,
        /^data: shard sh3 gets 99 rows; at most 98/,
      ],
      ['POST', '/read', { Stud_id: { low: 10, high: 5 } }, 400, /^Stud_id\.low: must not exceed Stud_id\.high/],
      ['POST', '/read', { Stud_id: { low: 'a', high: 5 } }, 400, /^Stud_id\.low: expected a whole number/],
      ['PUT', '/update', { Stud_id: 5, data: { Stud_id: 6 } }, 400, /^data\.Stud_id: cannot change Stud_id/],
      ['PUT', '/update', { Stud_id: 5, data: { Stud_grade: 'A' } }, 400, /^data\.Stud_grade: unknown column/],
      ['PUT', '/update', { Stud_id: 5, data: {} }, 400, /^data: names no column to change/],
      ['DELETE', '/del', { Stud_id: -1 }, 400, /^Stud_id: must be at least 0/],
      ['GET', '/write', undefined, 405, /not allowed/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await call(proxy, method, path, body);
      expect(res.status, `${method} ${path} ${String(JSON.stringify(body)).slice(0, 80)}`).toBe(status);
      expect(res.body.status).toBe('failure');
      expect(res.body.message).toMatch(message);
    }
    const over = await call(proxy, 'POST', '/write', `{"data":[${'"x",'.repeat(300_000)}"x"]}`);
    expect(over.status).toBe(413);
    // Nothing from the refused batches landed.
    const range = await call(proxy, 'POST', '/read', { Stud_id: { low: 12_000, high: 12_300 } });
    expect(range.body.data).toEqual([]);
  });

  it('a batch commits per shard and names exactly the shards that failed', async () => {
    // 5 exists already (sh1); 12_500 is new (sh4).
    const res = await call(proxy, 'POST', '/write', { data: [row(5), row(12_500)] });
    expect(res.status).toBe(207);
    expect(res.body.status).toBe('partial');
    expect(res.body.written).toEqual({ sh4: 1 });
    expect(Object.keys(res.body.failed)).toEqual(['sh1']);
    expect(res.body.failed.sh1).toMatch(/5 already exists/);
    const read = await call(proxy, 'POST', '/read', { Stud_id: { low: 12_500, high: 12_500 } });
    expect(read.body.data).toEqual([row(12_500)]);
  });

  it('/status counts a write in valid_idx at once', async () => {
    const before = (await call(proxy, 'GET', '/status')).body.shards.find(
      (s: { Shard_id: string }) => s.Shard_id === 'sh4',
    );
    expect((await call(proxy, 'POST', '/write', { data: [row(12_600)] })).status).toBe(200);
    const after = (await call(proxy, 'GET', '/status')).body.shards.find(
      (s: { Shard_id: string }) => s.Shard_id === 'sh4',
    );
    expect(after.valid_idx).toBe(before.valid_idx + 1);
  });

  it('update and delete reach the primary; a missing id is a 404 naming it', async () => {
    const updated = await call(proxy, 'PUT', '/update', { Stud_id: 7, data: { Stud_id: 7, Stud_marks: 99 } });
    expect(updated).toEqual({ status: 200, body: { message: 'Data entry for Stud_id:7 updated', status: 'success' } });
    expect((await call(proxy, 'POST', '/read', { Stud_id: { low: 7, high: 7 } })).body.data).toEqual([
      { ...row(7), Stud_marks: 99 },
    ]);
    const removed = await call(proxy, 'DELETE', '/del', { Stud_id: 7 });
    expect(removed).toEqual({
      status: 200,
      body: { message: 'Data entry with Stud_id:7 removed from all replicas', status: 'success' },
    });
    const again = await call(proxy, 'DELETE', '/del', { Stud_id: 7 });
    expect(again.status).toBe(404);
    expect(again.body.message).toBe('Stud_id: no record with Stud_id 7');
    const missing = await call(proxy, 'PUT', '/update', { Stud_id: 7, data: { Stud_marks: 1 } });
    expect(missing.status).toBe(404);
  });

  it('20 clients updating one record concurrently: the version counts every acknowledged update', async () => {
    const id = 42;
    const results = await pool(
      Array.from(
        { length: 200 },
        (_, i) => () => call(proxy, 'PUT', '/update', { Stud_id: id, data: { Stud_marks: i } }),
      ),
      20,
    );
    const acknowledged = results.filter((r) => r.status === 200).length;
    expect(acknowledged).toBe(200);
    const { doc } = testClients();
    const item = await doc.send(
      new GetCommand({ TableName: tables.names.records, Key: { Shard_id: 'sh1', Stud_id: id }, ConsistentRead: true }),
    );
    expect(item.Item?.version).toBe(acknowledged);
  });

  it("the second assignment's /add cannot name servers here; its /rm re-places a server's replicas", async () => {
    const add = await proxy.admin('POST', '/add', {
      n: 1,
      new_shards: [{ Stud_id_low: 16_384, Shard_id: 'sh5', Shard_size: SHARD_SIZE }],
      servers: { 'Server[1]': ['sh5'] },
    });
    expect(add.status).toBe(400);
    expect(add.body.message).toMatch(/^servers: servers cannot be created under chosen names here/);
    const bad = await proxy.admin('DELETE', '/rm', { n: 1, servers: ['nope'] });
    expect([bad.status, bad.body.message]).toEqual([
      400,
      'servers[0]: "nope" is not a live server; the live servers are a, b, c, d, e, f',
    ]);
    expect((await proxy.admin('GET', '/rep')).body.message.N).toBe(6);
  });

  it('killing a primary during writes loses no acknowledged row; the shard has a new primary within 2 leases', async () => {
    const before = (await call(proxy, 'GET', '/status')).body;
    const sh4 = before.shards.find((s: { Shard_id: string }) => s.Shard_id === 'sh4');
    const victim = servers.get(sh4.primary) as TestServer;
    const ids = shuffled(
      Array.from({ length: 3000 }, (_, i) => 13_000 + i),
      2,
    );
    const batches = Array.from({ length: 60 }, (_, b) => ids.slice(b * 50, b * 50 + 50));
    const acknowledged: number[] = [];
    let killedAt = 0;
    let promotedAt = 0;
    let done = 0;
    const sh4Primary = async (via: TestProxy) =>
      (await call(via, 'GET', '/status')).body.shards.find((x: { Shard_id: string }) => x.Shard_id === 'sh4').primary;
    let watcher: Promise<number> | undefined;
    // Writes go through both proxies, so each one's cached view of MapT must follow the promotion.
    await pool(
      batches.map((batch, b) => async () => {
        const res = await call(b % 2 === 0 ? proxy : peer, 'POST', '/write', { data: batch.map(row) });
        if (res.status === 200) acknowledged.push(...batch);
        else if (res.status === 207 && res.body.written?.sh4) acknowledged.push(...batch); // all of this batch is sh4
        done++;
        if (done === 10 && killedAt === 0) {
          killedAt = Date.now();
          victim.kill();
          watcher = waitFor(
            async () => {
              const p = await sh4Primary(peer);
              if (p !== null && p !== sh4.primary && promotedAt === 0) promotedAt = Date.now();
              return promotedAt > 0;
            },
            2 * LEASE_MS + 5000,
            'a new primary for sh4',
          );
        }
      }),
      2,
    );
    await watcher;
    expect(promotedAt - killedAt).toBeLessThan(2 * LEASE_MS);
    const read = await call(proxy, 'POST', '/read', { Stud_id: { low: 13_000, high: 15_999 } });
    const stored = new Set(read.body.data.map((r: { Stud_id: number }) => r.Stud_id));
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    // The replacement brought sh4 back to three replicas, none of them the dead server.
    let last: unknown;
    await waitFor(
      async () => {
        const s = (await call(proxy, 'GET', '/status')).body.shards.find(
          (x: { Shard_id: string }) => x.Shard_id === 'sh4',
        );
        last = s;
        return s.replicas.length === 3 && !s.replicas.includes(sh4.primary);
      },
      10_000,
      'sh4 re-replicated',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; dead ${sh4.primary}; last ${JSON.stringify(last)}`);
    });
    // Writes work again on the new primary.
    const after = await call(proxy, 'POST', '/write', { data: [row(16_000)] });
    expect(after.status).toBe(200);
  });
});
