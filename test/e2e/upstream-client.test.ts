import { createServer, type Server, type Socket } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';
import { rawConversation } from '../helpers/raw-http.js';

/**
 * Upstream failures as a client of the proxy sees them, for each upstream
 * client (UPSTREAM_CLIENT) on each data plane: the llhttp client must give
 * the answers undici gives.
 */

const CLIENTS = ['llhttp', 'undici'] as const;
const PLANES = ['net', 'http'] as const;
const CASES = CLIENTS.flatMap((client) => PLANES.map((plane) => ({ client, plane })));

/**
 * A raw HTTP/1.1 server: answers every request head by its path.
 * `/ok` answers 200 and, when `closeIdleAfterMs` is set, closes the connection
 * that long after answering, without a Keep-Alive header saying it will.
 * `/cut` sends a head promising 100000 bytes, a few of them, then resets.
 */
class RawBackend {
  private server: Server | undefined;
  port = 0;
  requests = 0;
  readonly sockets = new Set<Socket>();

  constructor(private readonly closeIdleAfterMs = 0) {}

  async start(): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let received = '';
      let idleTimer: NodeJS.Timeout | undefined;
      socket.on('data', (d) => {
        clearTimeout(idleTimer);
        received += d.toString('latin1');
        for (let end = received.indexOf('\r\n\r\n'); end >= 0; end = received.indexOf('\r\n\r\n')) {
          const head = received.slice(0, end);
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (received.length < end + 4 + length) return; // the body is not all here yet
          received = received.slice(end + 4 + length);
          this.requests++;
          const path = /^\w+ (\S+)/.exec(head)?.[1] ?? '/';
          if (path.startsWith('/cut')) {
            socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial body');
            setTimeout(() => socket.resetAndDestroy(), 30);
            return;
          }
          const body = JSON.stringify({ path, method: /^(\w+)/.exec(head)?.[1] });
          socket.write(
            `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
          );
          if (this.closeIdleAfterMs > 0) idleTimer = setTimeout(() => socket.end(), this.closeIdleAfterMs);
        }
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.port = (server.address() as { port: number }).port;
  }

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

/** A port with nothing listening on it (connections are refused). */
async function deadAddress(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe.each(CASES)('upstream failures, UPSTREAM_CLIENT=$client, DATA_PLANE=$plane', ({ client, plane }) => {
  const live = new RawBackend();
  const closing = new RawBackend(40);
  let proxy: TestProxy;
  let closingProxy: TestProxy;

  beforeAll(async () => {
    await live.start();
    await closing.start();
    // No retry budget at all: a retry that needs one fails at once (RETRY_WAIT_MS=0).
    proxy = await startTestProxy({
      UPSTREAM_CLIENT: client,
      DATA_PLANE: plane,
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `dead=${await deadAddress()},live=${live.address}`,
      RETRY_BUDGET_RATIO: '0',
      RETRY_BUDGET_MIN: '0',
      RETRY_WAIT_MS: '0',
      // Keep the dead server in rotation, so every request keyed to it meets a refused connect.
      EJECT_CONSECUTIVE_FAILURES: '1000',
      HEALTH_INTERVAL_MS: '60000',
      HASH_KEY: 'path',
    });
    closingProxy = await startTestProxy({
      UPSTREAM_CLIENT: client,
      DATA_PLANE: plane,
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `closing=${closing.address}`,
      RETRY_BUDGET_RATIO: '0',
      RETRY_BUDGET_MIN: '0',
      RETRY_WAIT_MS: '0',
    });
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
    expect(await closingProxy.stop()).toBe(0);
    await live.stop();
    await closing.stop();
  });

  it('retries a refused connect on another server without the retry budget, whatever the method', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await request(`${proxy.url}/post-${i}`, { method: 'POST', body: 'x' });
      const body = (await res.body.json()) as { path: string; method: string };
      statuses.push(res.statusCode);
      expect(body).toEqual({ path: `/post-${i}`, method: 'POST' });
    }
    expect(new Set(statuses)).toEqual(new Set([200]));
    const totals = (await proxy.admin('GET', '/status')).body.message.totals;
    // Some of the 40 keys hash to the dead server: each of those was retried, with no budget at all.
    expect(totals.retries).toBeGreaterThan(0);
  });

  it('cuts the client connection when the server resets mid-body', async () => {
    const outcome = await rawConversation(
      Number(new URL(proxy.url).port),
      ['GET /cut HTTP/1.1\r\nHost: t\r\n\r\n'],
      3000,
    );
    expect(outcome.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(outcome.text).toMatch(/partial body$/);
    expect(outcome.closed).toBe(true);
  });

  it('serves requests after the server closed its idle keep-alive connection, without a retry', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await request(`${closingProxy.url}/ok-${i}`);
      expect(res.statusCode).toBe(200);
      await res.body.text();
      // Longer than the server keeps an idle connection.
      await new Promise((r) => setTimeout(r, 80));
    }
    await waitFor(async () => closing.sockets.size === 0, 2000, 'the server closed its idle connections');
    const status = (await closingProxy.admin('GET', '/status')).body.message;
    expect(status.totals.retries).toBe(0);
    expect(status.servers[0].upstreamErrors).toBe(0);
  });
});
