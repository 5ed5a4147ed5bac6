import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, startTestServer, type TestProxy, type TestServer, waitFor } from '../helpers/processes.js';

const MAX_BODY = 256 * 1024;

/** Sends raw bytes and resolves with everything the proxy answers before closing (or timeout). */
function rawExchange(port: number, payload: string, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => {
      received += d.toString('latin1');
    });
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(payload);
  });
}

describe('proxy behaviour', () => {
  let proxy: TestProxy;
  let server: TestServer;
  let port: number;

  beforeAll(async () => {
    proxy = await startTestProxy({ MAX_BODY_BYTES: String(MAX_BODY), CLIENT_HEADERS_TIMEOUT_MS: '500' });
    server = await startTestServer('echo', proxy);
    port = Number(new URL(proxy.url).port);
    await waitFor(async () => (await proxy.admin('GET', '/rep')).body.message.N === 1, 5000, 'server registered');
  });
  afterAll(async () => {
    await server.stop();
    expect(await proxy.stop()).toBe(0);
  });

  it('streams a chunked request body up and the response back byte for byte', async () => {
    const payload = randomBytes(200 * 1024);
    const chunks = Array.from({ length: 50 }, (_, i) => payload.subarray(i * 4096, (i + 1) * 4096));
    const res = await request(`${proxy.url}/echo`, { method: 'POST', body: Readable.from(chunks) });
    const echoed = Buffer.from(await res.body.arrayBuffer());
    expect(res.statusCode).toBe(200);
    expect(createHash('sha256').update(echoed).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('adds X-Forwarded-For and a request id, and keeps a valid incoming id', async () => {
    const generated = await request(`${proxy.url}/echo`, { method: 'POST', body: 'x' });
    await generated.body.text();
    expect(generated.headers['x-seen-forwarded-for']).toBe('127.0.0.1');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect(generated.headers['x-seen-request-id']).toBe(generated.headers['x-request-id']);

    const kept = await request(`${proxy.url}/echo`, {
      method: 'POST',
      body: 'x',
      headers: { 'x-request-id': 'trace-42', 'x-forwarded-for': '203.0.113.9' },
    });
    await kept.body.text();
    expect(kept.headers['x-request-id']).toBe('trace-42');
    expect(kept.headers['x-seen-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
  });

  it('drops headers the client marked hop-by-hop', async () => {
    const answer = await rawExchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close, X-Hop\r\nX-Hop: secret\r\nContent-Length: 2\r\n\r\nhi',
      2000,
    );
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    expect(answer).toMatch(/x-seen-hop: \r\n/i);
  });

  it('refuses a declared body over the limit with 413 before reading it', async () => {
    const res = await request(`${proxy.url}/echo`, {
      method: 'POST',
      headers: { 'content-length': String(MAX_BODY + 1) },
      body: Buffer.alloc(MAX_BODY + 1),
    });
    const body = JSON.parse(await res.body.text());
    expect(res.statusCode).toBe(413);
    expect(body).toMatchObject({ status: 'failure', code: 'BODY_TOO_LARGE' });
    expect(body.message).toContain(`${MAX_BODY}-byte limit`);
  });

  it('cuts a chunked body that grows past the limit: 413, or a cut connection, never a complete reply', async () => {
    const big = Array.from({ length: 100 }, () => Buffer.alloc(8192, 1));
    const outcome = await request(`${proxy.url}/echo`, { method: 'POST', body: Readable.from(big) }).then(
      async (res) => {
        // The echo server answers before it has read the body, so the proxy may already have
        // forwarded its 200 when the limit trips; then the only honest signal is cutting the reply.
        const body = await res.body.arrayBuffer().then(
          (b) => `complete ${b.byteLength}`,
          (err: unknown) => `cut ${String(err)}`,
        );
        return `${res.statusCode} ${body}`;
      },
      (err: unknown) => `connection ${String(err)}`,
    );
    expect(outcome).toMatch(/^(413 complete|200 cut|connection)/);
    if (outcome.startsWith('413')) expect(outcome).not.toContain(String(100 * 8192));
  });

  it('answers 431 to oversized headers', async () => {
    const answer = await rawExchange(
      port,
      `GET /home HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      2000,
    );
    expect(answer).toMatch(/^HTTP\/1.1 431/);
  });

  it('closes a slow client that never finishes its headers (408)', async () => {
    const started = performance.now();
    const answer = await rawExchange(port, 'GET /home HTTP/1.1\r\nHost: t\r\n', 5000);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
  });

  it('a client that aborts mid-request leaks no upstream request or socket', async () => {
    const slow = await startTestServer('slow', undefined, { SERVER_WORK_LATENCY_MS: '1500' });
    const slowProxy = await startTestProxy({ MEMBERSHIP: 'static', STATIC_SERVERS: `slow=${slow.address}` });
    try {
      const aborts = Array.from({ length: 20 }, async () => {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 100);
        await request(`${slowProxy.url}/home`, { signal: controller.signal }).catch(() => undefined);
      });
      await Promise.all(aborts);
      await waitFor(
        async () => (await slowProxy.admin('GET', '/status')).body.message.totals.clientAborts === 20,
        3000,
        'aborts counted',
      );
      const status = (await slowProxy.admin('GET', '/status')).body.message;
      expect(status.totals.inflight).toBe(0);
      // The server saw its connections closed: nothing is still in flight there.
      await waitFor(
        async () => {
          const hb = await request(`${slow.address}/heartbeat`);
          return JSON.parse(await hb.body.text()).load.inflight === 0;
        },
        1000,
        'server idle',
      );
    } finally {
      await slowProxy.stop();
      await slow.stop();
    }
  });
});

describe('routing keys from headers and cookies', () => {
  it('sends every request with the same cookie to the same server, and spreads different cookies', async () => {
    const servers = await Promise.all(['a', 'b', 'c'].map((id) => startTestServer(id, undefined)));
    const p = await startTestProxy({
      MEMBERSHIP: 'static',
      STATIC_SERVERS: servers.map((s) => `${s.id}=${s.address}`).join(','),
      HASH_KEY: 'cookie:sid',
      STRATEGY: 'maglev',
    });
    try {
      const owner = async (cookies: string[]) => {
        const res = await request(`${p.url}/home`, { headers: cookies.flatMap((c) => ['cookie', c]) });
        return JSON.parse(await res.body.text()).message as string;
      };
      for (let sid = 0; sid < 10; sid++) {
        const first = await owner([`theme=dark; sid=user-${sid}`]);
        // Same sid, in another position and split over two Cookie headers: same server.
        expect(await owner([`sid=user-${sid}`])).toBe(first);
        expect(await owner(['theme=light', `sid=user-${sid}`])).toBe(first);
        expect(await owner([`sid=user-${sid}`, 'theme=light'])).toBe(first);
      }
      const spread = new Set(await Promise.all(Array.from({ length: 60 }, (_, i) => owner([`sid=u${i}`]))));
      expect(spread.size).toBe(3);
    } finally {
      await p.stop();
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
});

describe('upstream failures', () => {
  it('504 when the server does not answer within the headers timeout', async () => {
    const slow = await startTestServer('slow', undefined, { SERVER_WORK_LATENCY_MS: '2000' });
    const p = await startTestProxy({
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `slow=${slow.address}`,
      UPSTREAM_HEADERS_TIMEOUT_MS: '300',
      MAX_ATTEMPTS: '1',
    });
    try {
      const res = await request(`${p.url}/home`);
      const body = JSON.parse(await res.body.text());
      expect(res.statusCode).toBe(504);
      expect(body).toMatchObject({
        status: 'failure',
        code: 'UPSTREAM_TIMEOUT',
        message: 'server slow did not answer in time',
      });
    } finally {
      await p.stop();
      await slow.stop();
    }
  });

  it('502 when the only server refuses connections, 503 when there is no server', async () => {
    const dead = await startTestProxy({ MEMBERSHIP: 'static', STATIC_SERVERS: 'dead=http://127.0.0.1:1' });
    const empty = await startTestProxy({});
    try {
      const res = await request(`${dead.url}/home`);
      const body = JSON.parse(await res.body.text());
      expect(res.statusCode).toBe(502);
      expect(body).toMatchObject({
        status: 'failure',
        code: 'UPSTREAM_FAILED',
        message: 'server dead failed: ECONNREFUSED',
      });
      const none = await request(`${empty.url}/home`);
      expect(none.statusCode).toBe(503);
      expect(JSON.parse(await none.body.text())).toMatchObject({ code: 'NO_HEALTHY_SERVER' });
    } finally {
      await dead.stop();
      await empty.stop();
    }
  });

  it('passes a 5xx reply through without retrying it', async () => {
    const failing = await startTestServer('f', undefined, { SERVER_FAIL_STATUS: '500' });
    const p = await startTestProxy({ MEMBERSHIP: 'static', STATIC_SERVERS: `f=${failing.address}` });
    try {
      const res = await request(`${p.url}/home`);
      await res.body.text();
      // A 5xx reply is passed through, not retried.
      expect(res.statusCode).toBe(500);
      const status = (await p.admin('GET', '/status')).body.message;
      expect(status.totals.retries).toBe(0);
    } finally {
      await p.stop();
      await failing.stop();
    }
  });
});
