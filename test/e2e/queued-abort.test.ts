import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';
import { rawConversation } from '../helpers/raw-http.js';

/**
 * A client that leaves while its request still waits for an upstream socket:
 * the request must never reach the server and nothing may stay counted in
 * flight. Regression (found by the fuzzer, UPSTREAM_CLIENT=undici): undici
 * hands out its abort only when a request starts, so an abort that came while
 * the request was queued was lost; the request ran later with nobody reading,
 * its response stayed paused on the pooled socket, every request queued behind
 * it hung and stayed counted in flight, and the proxy could not stop in time.
 */

const CLIENTS = ['llhttp', 'undici'] as const;
/** How long the first request holds the backend's only connection. */
const HOLD_MS = 600;

describe.each(CLIENTS)('a client leaving while its request is queued, UPSTREAM_CLIENT=%s', (client) => {
  let backend: Server;
  let proxy: TestProxy;
  const seen: string[] = [];

  beforeAll(async () => {
    backend = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req.url ?? '');
      const answer = () => res.end(JSON.stringify({ url: req.url }));
      if (req.url === '/hold') setTimeout(answer, HOLD_MS);
      else answer();
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const port = (backend.address() as AddressInfo).port;
    proxy = await startTestProxy({
      UPSTREAM_CLIENT: client,
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `only=http://127.0.0.1:${port}`,
      // One socket to the server: a second request waits in the client's queue.
      UPSTREAM_CONNECTIONS: '1',
      HEALTH_INTERVAL_MS: '60000',
    });
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
    await new Promise<void>((r) => backend.close(() => r()));
  });

  it('never sends the abandoned request, and leaves nothing in flight', async () => {
    const held = request(`${proxy.url}/hold`);
    // Give the held request the only socket before the second one queues behind it.
    await waitFor(async () => seen.includes('/hold'), 5000, 'the held request reached the server');
    const port = Number(new URL(proxy.url).port);
    // The second client asks and leaves while its request is still queued.
    const left = await rawConversation(port, ['GET /abandoned HTTP/1.1\r\nHost: t\r\n\r\n'], HOLD_MS / 3);
    expect(left.text).toBe('');
    const first = await held;
    expect(first.statusCode).toBe(200);
    await first.body.text();
    // A later request is served on the freed socket, in order, with nothing hung behind the abandoned one.
    const after = await request(`${proxy.url}/after`);
    expect(after.statusCode).toBe(200);
    await after.body.text();
    await waitFor(
      async () => (await proxy.admin('GET', '/status')).body.message.totals.inflight === 0,
      5000,
      'nothing counted in flight',
    );
    expect(seen).toEqual(['/hold', '/after']);
  });
});
