import { once } from 'node:events';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { startTestServer, type TestServer, waitFor } from '../helpers/processes.js';
import { rawConversation } from '../helpers/raw-http.js';

/**
 * The backend server's /ws (containers/server/src/websocket-echo.ts), against
 * the real server bundle on loopback: Node 24's own WebSocket client for the
 * echo, the `ws` client where a test must stop reading or see a close code.
 */

/** Small, so the too-big case needs no megabytes; the default (1 MiB) is config.ts's. */
const MAX_MESSAGE_BYTES = 64 * 1024;

let server: TestServer;
let wsUrl: string;
let port: number;

beforeAll(async () => {
  server = await startTestServer('ws-echo-1', undefined, { WS_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES) });
  wsUrl = `${server.address.replace('http://', 'ws://')}/ws`;
  port = Number(new URL(server.address).port);
});

afterAll(async () => {
  await server?.stop();
});

/** Opens Node's WebSocket on `url`, resolves once open, with every message collected in order. */
async function openNodeSocket(url: string): Promise<{ ws: WebSocket; received: (string | Buffer)[] }> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const received: (string | Buffer)[] = [];
  ws.addEventListener('message', (e: MessageEvent) => {
    received.push(typeof e.data === 'string' ? e.data : Buffer.from(e.data as ArrayBuffer));
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed to open`)), { once: true });
  });
  return { ws, received };
}

describe('the backend server /ws', () => {
  it('answers a text message with its id and the message, as JSON text', async () => {
    const { ws, received } = await openNodeSocket(wsUrl);
    ws.send('hello, ünïcode');
    await waitFor(() => received.length === 1, 5000, 'the echo');
    expect(typeof received[0]).toBe('string');
    expect(JSON.parse(received[0] as string)).toEqual({ server: 'ws-echo-1', message: 'hello, ünïcode' });
    ws.close();
  });

  it('answers a binary message with the id, a newline byte and the same bytes', async () => {
    const { ws, received } = await openNodeSocket(wsUrl);
    const payload = Buffer.from([0, 1, 2, 0x0a, 255]);
    ws.send(payload);
    await waitFor(() => received.length === 1, 5000, 'the echo');
    expect(Buffer.isBuffer(received[0])).toBe(true);
    expect(received[0]).toEqual(Buffer.concat([Buffer.from('ws-echo-1\n'), payload]));
    ws.close();
  });

  it('echoes many messages in order, text and binary interleaved', async () => {
    const { ws, received } = await openNodeSocket(wsUrl);
    const count = 200;
    for (let i = 0; i < count; i++) ws.send(i % 2 === 0 ? `m${i}` : Buffer.from(`b${i}`));
    await waitFor(() => received.length === count, 10_000, `${count} echoes`);
    received.forEach((m, i) => {
      if (i % 2 === 0) expect(JSON.parse(m as string)).toEqual({ server: 'ws-echo-1', message: `m${i}` });
      else expect((m as Buffer).toString()).toBe(`ws-echo-1\nb${i}`);
    });
    ws.close();
  });

  it('closes with 1009 on a message over WS_MAX_MESSAGE_BYTES, and accepts one at the limit', async () => {
    const client = new WsClient(wsUrl);
    await once(client, 'open');
    const echoed = once(client, 'message');
    client.send(Buffer.alloc(MAX_MESSAGE_BYTES - 'ws-echo-1\n'.length, 7));
    const [reply] = (await echoed) as [Buffer];
    expect(reply.length).toBe(MAX_MESSAGE_BYTES);
    const closed = once(client, 'close');
    client.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1));
    const [code] = (await closed) as [number];
    expect(code).toBe(1009);
  });

  it('answers a plain GET /ws with 426 and the JSON error shape', async () => {
    const res = await request(`${server.address}/ws`);
    expect(res.statusCode).toBe(426);
    expect(res.headers.upgrade).toBe('websocket');
    const body = (await res.body.json()) as { status: string; message: string };
    expect(body.status).toBe('failure');
    expect(body.message).toContain('/ws');
  });

  it('answers an upgrade on another path with 404 and the JSON error shape, then closes', async () => {
    const outcome = await rawConversation(
      port,
      [
        'GET /home?request_id=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ],
      5000,
    );
    expect(outcome.text).toMatch(/^HTTP\/1\.1 404 /);
    expect(outcome.closed).toBe(true);
    const body = JSON.parse(outcome.text.slice(outcome.text.indexOf('\r\n\r\n') + 4)) as { status: string };
    expect(body.status).toBe('failure');
  });

  it('stops reading from a client that does not read its echoes, and loses nothing once it does', async () => {
    // A client that sends without reading: the server's queued echoes pass ECHO_HIGH_WATER_BYTES, it pauses
    // that socket, and the client's own sends back up. Without backpressure the server would read all 64 MiB
    // and hold their echoes in memory, and the client's buffer would drain to 0.
    const messageBytes = MAX_MESSAGE_BYTES / 2;
    const messages = (64 * 1024 * 1024) / messageBytes;
    const client = new WsClient(wsUrl);
    await once(client, 'open');
    client.pause();
    for (let i = 0; i < messages; i++) client.send(Buffer.alloc(messageBytes, i % 251));
    // Let the kernel's buffers fill; then the client's unsent bytes must stop moving.
    await new Promise((r) => setTimeout(r, 2000));
    const stuck = client.bufferedAmount;
    await new Promise((r) => setTimeout(r, 500));
    expect(stuck).toBeGreaterThan((messages * messageBytes) / 4);
    expect(client.bufferedAmount).toBe(stuck);

    let got = 0;
    let lastOk = false;
    client.on('message', (data: Buffer) => {
      got++;
      lastOk = data.length === 'ws-echo-1\n'.length + messageBytes && data.at(-1) === (got - 1) % 251;
    });
    client.resume();
    await waitFor(() => got === messages, 20_000, `${messages} echoes after resuming`);
    expect(lastOk).toBe(true);
    client.close();
  });

  it('on SIGTERM closes open WebSockets with 1001 once SHUTDOWN_TIMEOUT_MS passes, then exits 0', async () => {
    const leaving = await startTestServer('ws-echo-2', undefined, { SHUTDOWN_TIMEOUT_MS: '300' });
    const client = new WsClient(`${leaving.address.replace('http://', 'ws://')}/ws`);
    await once(client, 'open');
    const closed = once(client, 'close');
    const started = performance.now();
    const exitCode = leaving.stop();
    const [code] = (await closed) as [number];
    expect(code).toBe(1001);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(await exitCode).toBe(0);
  });
});
