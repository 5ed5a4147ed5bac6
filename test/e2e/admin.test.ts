import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';

describe('admin API', () => {
  let proxy: TestProxy;

  beforeAll(async () => {
    proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '3' });
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
  });

  it('requires the bearer token on every route but /healthz', async () => {
    for (const [method, path] of [
      ['GET', '/rep'],
      ['POST', '/add'],
      ['DELETE', '/rm'],
      ['GET', '/status'],
      ['GET', '/metrics'],
      ['PUT', '/members/x'],
    ] as const) {
      const missing = await proxy.admin(method, path, undefined, null);
      expect(missing.status, `${method} ${path}`).toBe(401);
      expect(missing.body).toEqual({
        message: 'authorization: a valid bearer token is required',
        status: 'failure',
        code: 'UNAUTHORIZED',
        field: 'authorization',
      });
      expect((await proxy.admin(method, path, undefined, 'wrong-token')).status).toBe(401);
    }
    expect((await proxy.admin('GET', '/healthz', undefined, null)).status).toBe(200);
  });

  it('GET /rep lists the replicas in the assignments’ shape', async () => {
    const rep = await proxy.admin('GET', '/rep');
    expect(rep).toEqual({
      status: 200,
      body: { message: { N: 3, replicas: ['s1', 's2', 's3'] }, status: 'successful' },
    });
  });

  it('POST /add starts named servers that take traffic at once', async () => {
    const added = await proxy.admin('POST', '/add', { n: 2, hostnames: ['s4', 's5'] });
    expect(added).toEqual({
      status: 200,
      body: { message: { N: 5, replicas: ['s1', 's2', 's3', 's4', 's5'] }, status: 'successful' },
    });
    // Some key lands on each newcomer right away (slow start lowers, not removes, its share).
    const seen = new Set<string>();
    for (let i = 0; i < 400 && seen.size < 5; i++) {
      const res = await request(`${proxy.url}/home?request_id=${i}`);
      seen.add(JSON.parse(await res.body.text()).message.replace('Hello from Server: ', ''));
    }
    expect(seen).toContain('s4');
    expect(seen).toContain('s5');
  });

  it('POST /add without hostnames picks fresh names', async () => {
    const added = await proxy.admin('POST', '/add', { n: 1 });
    expect(added.status).toBe(200);
    expect(added.body.message.N).toBe(6);
    expect(added.body.message.replicas).toContain('s6');
  });

  it('fills a hostname list shorter than n: generated names for /add, the newest servers for /rm', async () => {
    const added = await proxy.admin('POST', '/add', { n: 2, hostnames: ['s9'] });
    expect(added.status).toBe(200);
    expect(added.body.message.replicas).toEqual(['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's9']);
    const removed = await proxy.admin('DELETE', '/rm', { n: 2, hostnames: ['s9'] });
    expect(removed.status).toBe(200);
    expect(removed.body.message.replicas).toEqual(['s1', 's2', 's3', 's4', 's5', 's6']);
    const tooMany = await proxy.admin('POST', '/add', { n: 1, hostnames: ['s10', 's11'] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe(
      'hostnames: lists 2 hostname(s) but n is 1; list at most n (fewer are filled in)',
    );
  });

  it('DELETE /rm drains and stops the named servers', async () => {
    const removed = await proxy.admin('DELETE', '/rm', { n: 2, hostnames: ['s5', 's6'] });
    expect(removed).toEqual({
      status: 200,
      body: { message: { N: 4, replicas: ['s1', 's2', 's3', 's4'] }, status: 'successful' },
    });
  });

  it('answers every bad request with 400 naming the field', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['POST', '/add', { n: 1, hostnames: ['a', 'b'] }, 400, 'hostnames: lists 2 hostname(s) but n is 1'],
      ['POST', '/add', { n: -2 }, 400, 'n: must be at least 1'],
      ['POST', '/add', { n: 1_000_000 }, 400, 'n: must be at most 32'],
      ['POST', '/add', { n: 'two' }, 400, 'n: expected a whole number'],
      ['POST', '/add', { n: 1, hostnames: 's9' }, 400, 'hostnames: expected an array of hostnames'],
      ['POST', '/add', { n: 1, hostnames: ['s1'] }, 400, 'hostnames[0]: server "s1" already exists'],
      ['POST', '/add', { n: 1, hostnames: ['../etc'] }, 400, 'hostnames[0]: expected 1-63'],
      ['POST', '/add', '{not json', 400, 'body: not valid JSON'],
      ['POST', '/add', '', 400, 'body: expected a JSON object, got an empty body'],
      ['DELETE', '/rm', { n: 1, hostnames: ['nope'] }, 400, 'hostnames[0]: unknown server "nope"'],
      ['DELETE', '/rm', { n: 9 }, 400, 'n: cannot remove 9 of 4 active server(s)'],
      ['DELETE', '/rm', { n: 1, hostname: ['s1'] }, 400, 'hostname: unknown field'],
      ['PUT', '/members/s9', { address: 'ftp://x' }, 400, 'address: expected http://host:port'],
      ['GET', '/add', undefined, 405, 'method GET not allowed; use POST'],
      ['GET', '/nothing', undefined, 404, 'no admin route GET /nothing'],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await proxy.admin(method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body.status).toBe('failure');
      expect(res.body.message).toContain(message);
    }
    // Nothing half-done: the fleet is as it was.
    expect((await proxy.admin('GET', '/rep')).body.message.replicas).toEqual(['s1', 's2', 's3', 's4']);
  });

  it('refuses admin bodies over 64 KiB with 413', async () => {
    const res = await proxy.admin('POST', '/add', JSON.stringify({ n: 1, pad: 'x'.repeat(70_000) }));
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/^body: larger than/);
  });

  it('GET /status reports strategy, ring, servers and totals', async () => {
    await waitFor(
      async () => (await proxy.admin('GET', '/status')).body.message.servers.length === 4,
      5000,
      'four servers',
    );
    const { status, body } = await proxy.admin('GET', '/status');
    expect(status).toBe(200);
    const message = body.message;
    expect(message.strategy).toBe('maglev-bounded');
    expect(message.hashKey).toBe('query:request_id');
    expect(message.ring).toEqual({ algorithm: 'maglev-bounded', members: 4, healthy: 4 });
    expect(message.panic).toBe(false);
    expect(message.servers.map((s: { id: string }) => s.id)).toEqual(['s1', 's2', 's3', 's4']);
    for (const s of message.servers) {
      expect(s).toMatchObject({ status: 'active', healthy: true, available: true, inflight: 0 });
      expect(s.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(message.totals.requests).toBeGreaterThan(0);
    expect(message.totals.inflight).toBe(0);
  });

  it('GET /metrics serves Prometheus text', async () => {
    const { status, body } = await proxy.admin('GET', '/metrics');
    expect(status).toBe(200);
    expect(body).toMatch(/^# HELP ringmaster_requests_total/m);
    expect(body).toMatch(/^ringmaster_requests_total\{class="2xx"\} [1-9]\d*$/m);
    expect(body).toMatch(/^ringmaster_server_available\{server="s1"\} 1$/m);
    expect(body).toMatch(/^ringmaster_request_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
  });

  it('a removed server cannot re-register by heartbeat until added again', async () => {
    await proxy.admin('DELETE', '/rm', { n: 1, hostnames: ['s4'] });
    const beat = await proxy.admin('PUT', '/members/s4', { address: 'http://127.0.0.1:9' });
    expect(beat.status).toBe(410);
    expect(beat.body.message).toContain('was removed');
  });

  it('respawns a server process that dies', async () => {
    const before = (await proxy.admin('GET', '/status')).body.message.servers.find(
      (s: { id: string }) => s.id === 's1',
    );
    const port = Number(new URL(before.address).port);
    // Find and kill the process listening on s1's port: ask it who it is, then signal by pid.
    const res = await request(`http://127.0.0.1:${port}/heartbeat`);
    expect(JSON.parse(await res.body.text()).server).toBe('s1');
    const pid = findPidByPort(port);
    process.kill(pid, 'SIGKILL');
    await waitFor(
      async () => {
        const s = (await proxy.admin('GET', '/status')).body.message.servers.find((x: { id: string }) => x.id === 's1');
        return s !== undefined && s.address !== before.address && s.healthy;
      },
      15_000,
      's1 to come back at a new address',
    );
  });
});

/** The pid owning a listening loopback port, from /proc (Linux). */
function findPidByPort(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inode = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A')?.[9];
  if (!inode) throw new Error(`no listener on ${port}`);
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return Number(pid);
      }
    } catch {
      // process gone or not ours to read
    }
  }
  throw new Error(`no process owns port ${port}`);
}
