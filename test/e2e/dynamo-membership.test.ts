import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { awsEnv, createTestTables, type TestTables } from '../helpers/aws.js';
import { startTestProxy, startTestServer, type TestProxy, type TestServer, waitFor } from '../helpers/processes.js';
import { TcpGate } from '../helpers/tcp-gate.js';

async function routeKeys(proxy: TestProxy, keys: number): Promise<string[]> {
  const owners: string[] = [];
  for (let i = 0; i < keys; i++) {
    const res = await request(`${proxy.url}/home?request_id=${i * 7919}`);
    owners.push(JSON.parse(await res.body.text()).message);
  }
  return owners;
}

const replicas = async (proxy: TestProxy) => (await proxy.admin('GET', '/rep')).body.message.replicas as string[];

describe('membership in the DynamoDB Ring table', () => {
  let tables: TestTables;
  let servers: TestServer[];
  let proxies: TestProxy[];

  beforeAll(async () => {
    tables = await createTestTables('ring');
    const env = { ...awsEnv(), RING_TABLE: tables.names.ring, HEARTBEAT_INTERVAL_MS: '500', LEASE_MS: '3000' };
    servers = await Promise.all(['a', 'b', 'c'].map((id) => startTestServer(id, undefined, env)));
    proxies = await Promise.all(
      [0, 1].map(() => startTestProxy({ ...awsEnv(), MEMBERSHIP: 'dynamodb', RING_TABLE: tables.names.ring })),
    );
    for (const p of proxies) await waitFor(async () => (await replicas(p)).length === 3, 5000, 'three members');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const p of proxies) expect(await p.stop()).toBe(0);
    await tables.drop();
  });

  it('two proxy processes reading the same table route 1,000 keys identically', async () => {
    const [first, second] = await Promise.all(proxies.map((p) => routeKeys(p, 1000)));
    expect(new Set(first).size).toBe(3);
    expect(second).toEqual(first);
  });

  it('a new server is routed to within one refresh; a clean shutdown leaves at once', async () => {
    const d = await startTestServer('d', undefined, { ...awsEnv(), RING_TABLE: tables.names.ring });
    servers.push(d);
    for (const p of proxies) await waitFor(async () => (await replicas(p)).includes('d'), 2500, 'd registered');
    await d.stop();
    for (const p of proxies) await waitFor(async () => !(await replicas(p)).includes('d'), 2500, 'd gone');
  });

  it('a killed server drops out when its lease expires', async () => {
    const e = await startTestServer('e', undefined, {
      ...awsEnv(),
      RING_TABLE: tables.names.ring,
      HEARTBEAT_INTERVAL_MS: '500',
      LEASE_MS: '2000',
    });
    for (const p of proxies) await waitFor(async () => (await replicas(p)).includes('e'), 2500, 'e registered');
    e.kill();
    for (const p of proxies) await waitFor(async () => !(await replicas(p)).includes('e'), 5000, 'e lease expired');
  });

  it('/rm drains through the table, and the tombstone keeps the server from heartbeating back', async () => {
    const f = await startTestServer('f', undefined, {
      ...awsEnv(),
      RING_TABLE: tables.names.ring,
      HEARTBEAT_INTERVAL_MS: '300',
    });
    for (const p of proxies) await waitFor(async () => (await replicas(p)).includes('f'), 2500, 'f registered');
    const removed = await (proxies[0] as TestProxy).admin('DELETE', '/rm', { n: 1, hostnames: ['f'] });
    expect(removed.status).toBe(200);
    expect(removed.body.message.replicas).not.toContain('f');
    // The server's next heartbeat meets the tombstone and it shuts itself down.
    const code = await new Promise<number | null>((resolve) => f.child.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    for (const p of proxies) await waitFor(async () => !(await replicas(p)).includes('f'), 2500, 'f gone everywhere');
  });
});

describe('a DynamoDB outage', () => {
  it('keeps routing with the last membership for 10 s and recovers when DynamoDB returns', async () => {
    const tables = await createTestTables('outage');
    const endpoint = new URL(inject('awsEndpoint'));
    const gate = new TcpGate(endpoint.hostname, Number(endpoint.port));
    await gate.open();
    const env = { ...awsEnv(), RING_TABLE: tables.names.ring };
    const servers = await Promise.all(['a', 'b'].map((id) => startTestServer(id, undefined, env)));
    // Only the proxy reaches DynamoDB through the gate.
    const proxy = await startTestProxy({ ...awsEnv(gate.url), MEMBERSHIP: 'dynamodb', RING_TABLE: tables.names.ring });
    try {
      await waitFor(async () => (await replicas(proxy)).length === 2, 5000, 'two members');
      await gate.close();
      const outageEnds = Date.now() + 10_000;
      let served = 0;
      while (Date.now() < outageEnds) {
        const res = await request(`${proxy.url}/home?request_id=${served}`);
        expect(res.statusCode).toBe(200);
        await res.body.text();
        served++;
        await new Promise((r) => setTimeout(r, 20));
      }
      const during = (await proxy.admin('GET', '/status')).body.message;
      expect(during.servers.map((s: { id: string }) => s.id)).toEqual(['a', 'b']);
      expect(during.membershipStats.errors).toBeGreaterThan(0);
      // A server that joined during the outage is seen once DynamoDB is back.
      servers.push(await startTestServer('c', undefined, env));
      await gate.open();
      await waitFor(async () => (await replicas(proxy)).includes('c'), 8000, 'recovery');
      expect(served).toBeGreaterThan(100);
    } finally {
      expect(await proxy.stop()).toBe(0);
      await Promise.all(servers.map((s) => s.stop()));
      await gate.close();
      await tables.drop();
    }
  });
});
