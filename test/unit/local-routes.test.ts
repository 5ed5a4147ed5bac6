import type { Server } from 'node:http';
import { connect } from 'node:net';
import pino from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetLoad } from '#core/balancing/backend.js';
import { createStrategy } from '#core/balancing/strategies.js';
import { closeServer, listen } from '#core/http/listen.js';
import type { LocalReply, LocalRequest, LocalRoutes } from '#core/ports/local-routes.js';
import { parseKeySource } from '#core/routing/key-source.js';
import { Fleet } from '#proxy/fleet/fleet.js';
import { type Forwarding, forwardingSettings, Traffic } from '#proxy/forwarding/forwarding.js';
import { NetProxyServer } from '#proxy/forwarding/net/net-proxy-server.js';
import { createProxyServer } from '#proxy/forwarding/proxy-server.js';
import { RequestIds } from '#proxy/forwarding/request-ids.js';
import { RetryBudget } from '#proxy/forwarding/retry-budget.js';
import { Tunnels } from '#proxy/forwarding/tunnel/tunnels.js';
import { ProxyMetrics } from '#proxy/telemetry/metrics.js';

/** The routes' body limit, small so a test can pass it. */
const LIMIT = 1000;
const LIMITS = { headersTimeoutMs: 2000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 2000, maxHeaderBytes: 16_384 };
const log = pino({ level: 'silent' });

/**
 * Routes that answer /local/* with what they were handed: the plane's half of
 * the seam is under test here (what reaches `serve` and what goes back), so
 * the routes only report. `/local/slow` answers after a pause, to show that a
 * request pipelined behind it waits its turn.
 */
const routes: LocalRoutes = {
  maxBodyBytes: LIMIT,
  claims: (_method, url) => url.startsWith('/local/'),
  async serve(req: LocalRequest): Promise<LocalReply> {
    if (req.path === '/local/slow') await new Promise((r) => setTimeout(r, 200));
    const json = JSON.stringify({
      method: req.method,
      url: req.url,
      path: req.path,
      tag: req.headers['x-tag'] ?? null,
      body: req.body.toString('utf8'),
    });
    return { status: req.path === '/local/created' ? 201 : 200, json };
  },
};

function forwarding(): Forwarding {
  const load = new FleetLoad();
  const fleet = new Fleet(
    createStrategy('maglev', load),
    load,
    {
      slowStartMs: 0,
      slowStartInitialWeight: 0.1,
      panicThreshold: 0.5,
      ejectConsecutiveFailures: 5,
      ejectBaseMs: 1000,
      ejectMaxMs: 10_000,
      drainTimeoutMs: 1000,
    },
    () => {
      throw new Error('no backend is dialled in these tests');
    },
    log,
  );
  return {
    settings: forwardingSettings(
      parseKeySource('query:request_id'),
      'x-demand',
      { maxBodyBytes: 1 << 20, maxHeaderCount: 100, maxAttempts: 2 },
      false,
    ),
    fleet,
    metrics: new ProxyMetrics(),
    retryBudget: new RetryBudget(load, 0.2, 3, 0),
    requestIds: new RequestIds(),
    traffic: new Traffic(),
    tunnels: new Tunnels({ max: 10, idleTimeoutMs: 60_000, drainMs: 1000 }, fleet, log),
    log,
  };
}

/** Raw bytes in, everything the proxy sent until it closed, `done` said so, or `ms` passed, out. */
function exchangeRaw(
  port: number,
  bytes: string,
  done: (got: string) => boolean = () => false,
  ms = 3000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(got);
    }, ms);
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (done(got)) socket.destroy();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

for (const plane of ['net', 'http'] as const) {
  describe(`local routes on the ${plane} data plane`, () => {
    let server: Server | import('node:net').Server;
    let close: () => Promise<void>;
    let port: number;
    const agent = new Agent({ connections: 20 });

    beforeAll(async () => {
      const fwd = forwarding();
      if (plane === 'net') {
        const net = new NetProxyServer(fwd, LIMITS, routes);
        server = net.server;
        close = () => net.close();
      } else {
        const http = createProxyServer(fwd, LIMITS, routes);
        server = http;
        close = () => closeServer(http);
      }
      port = await listen(server, 0, '127.0.0.1');
    });
    afterAll(async () => {
      await agent.close();
      await close();
    });

    const call = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
      const res = await request(`http://127.0.0.1:${port}${path}`, { method, body, headers, dispatcher: agent });
      return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
    };

    it('hands a claimed request over with its head and whole body, and writes the JSON answer', async () => {
      const got = await call('GET', '/local/hello?x=1', undefined, { 'x-tag': 'a' });
      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toBe('application/json');
      expect(got.body).toEqual({ method: 'GET', url: '/local/hello?x=1', path: '/local/hello', tag: 'a', body: '' });
      const posted = await call('POST', '/local/created', '{"a":1}', { 'content-type': 'application/json' });
      expect(posted).toMatchObject({ status: 201, body: { method: 'POST', body: '{"a":1}' } });
    });

    it('reads a chunked body too', async () => {
      const raw = await exchangeRaw(
        port,
        'POST /local/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
      );
      expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(raw).toContain('"body":"abcde"');
    });

    it('refuses a body over the limit with 413 naming the body, declared or chunked, before the routes see it', async () => {
      const declared = await call('POST', '/local/big', 'x'.repeat(LIMIT + 1));
      expect(declared.status).toBe(413);
      expect(declared.body).toMatchObject({ code: 'BODY_TOO_LARGE', message: `body: larger than ${LIMIT} bytes` });
      const chunk = 'y'.repeat(LIMIT + 1);
      const raw = await exchangeRaw(
        port,
        `POST /local/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
      );
      expect(raw).toMatch(/^HTTP\/1\.1 413 /);
      expect(raw).not.toContain('"path"');
    });

    it('leaves every other request to the forwarding path', async () => {
      const forwarded = await call('GET', '/elsewhere');
      expect(forwarded.status).toBe(503);
      expect(forwarded.body).toMatchObject({ code: 'NO_HEALTHY_SERVER' });
    });

    it('answers pipelined requests in order, a slow local answer before a forwarded one behind it', async () => {
      const raw = await exchangeRaw(
        port,
        'GET /local/slow HTTP/1.1\r\nHost: x\r\n\r\nGET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\nGET /local/last HTTP/1.1\r\nHost: x\r\n\r\n',
        (got) => got.includes('"/local/last"') && got.endsWith('}'),
      );
      const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
      expect(statuses).toEqual(['200', '503', '200']);
      expect(raw.indexOf('/local/slow')).toBeLessThan(raw.indexOf('NO_HEALTHY_SERVER'));
      expect(raw.indexOf('NO_HEALTHY_SERVER')).toBeLessThan(raw.indexOf('/local/last'));
    });

    it('serves 200 concurrent requests over 20 kept-alive connections, every one answered', async () => {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => call('PUT', `/local/n${i}`, JSON.stringify({ i }))),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(200);
      expect(results.map((r) => r.body.path)).toEqual(Array.from({ length: 200 }, (_, i) => `/local/n${i}`));
    });
  });
}
