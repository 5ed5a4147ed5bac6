/**
 * Upgrade tunnels, byte for byte: raw sockets to the proxy on loopback, on
 * both data planes with both upstream clients, against an in-test backend
 * that switches protocols (or refuses to) per path. Each case asserts the
 * safe outcome: what is tunnelled and what is served as plain HTTP, that
 * nothing after an upgrade's head is ever read as a request, that each
 * direction's end and backpressure cross the tunnel, the limits (MAX_TUNNELS,
 * the idle timeout), and that no socket is left behind.
 */
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';
import { parseResponses } from '../helpers/raw-http.js';

const DATA_PLANES = ['net', 'http'] as const;
const UPSTREAM_CLIENTS = ['llhttp', 'undici'] as const;
const COMBOS = UPSTREAM_CLIENTS.flatMap((client) => DATA_PLANES.map((plane) => ({ plane, client })));

const MAX_TUNNELS = 3;
const IDLE_TIMEOUT_MS = 2000;
/** How long a case waits for something it expects. */
const WAIT_MS = 4000;
/**
 * The flood route's total and chunk. While the client reads nothing, the kernel's socket buffers on both
 * hops fill (Linux may autotune a receive buffer up to tcp_rmem's maximum, 32 MiB here), then the proxy
 * must stop reading from the backend: the flood is far above all of that, so only an unbounded proxy lets
 * the backend finish it, and the proxy's own memory may not grow by the flood.
 */
const FLOOD_BYTES = 256 * 1024 * 1024;
const FLOOD_CHUNK = Buffer.alloc(256 * 1024, 0x62);
/** Kernel buffers on both hops at their Linux maximums (2 x (32 + 4) MiB), and a margin. */
const FLOOD_BUFFER_CEILING = 96 * 1024 * 1024;
/** The proxy's RSS may grow by this while it holds the flood back (stream buffers are 16 KiB each). */
const FLOOD_RSS_CEILING = 48 * 1024 * 1024;
/** A client keeps what it receives up to here, and only counts bytes after (a flood must not be copied). */
const KEEP_BYTES = 1024 * 1024;

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const upgradeRequest = (path: string, extra = '', protocol = 'echo') =>
  `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n${extra}\r\n`;

/** The backend: switches protocols per path, and records every plain request it answers. */
class TunnelBackend {
  readonly seen: { url: string; upgrade: string | null; http2Settings: string | null; bodyLength: number }[] = [];
  /** Bytes each tunnel received, by the tunnel's `x-case` header. */
  readonly tunnelBytes = new Map<string, string>();
  floodAccepted = 0;
  floodDone = false;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url === '/unasked-101') {
        // Switching protocols for a request that never asked: the proxy must not follow.
        req.socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nRAW');
        return;
      }
      let bodyLength = 0;
      req.on('data', (d: Buffer) => {
        bodyLength += d.length;
      });
      req.on('end', () => {
        this.seen.push({
          url: req.url ?? '',
          upgrade: req.headers.upgrade ?? null,
          http2Settings: (req.headers['http2-settings'] as string | undefined) ?? null,
          bodyLength,
        });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ url: req.url, upgrade: req.headers.upgrade ?? null, bodyLength }));
      });
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const name = (req.headers['x-case'] as string | undefined) ?? req.url ?? '';
    const path = (req.url ?? '').split('?')[0];
    if (path === '/tunnel/refuse') {
      this.seen.push({ url: req.url ?? '', upgrade: req.headers.upgrade ?? null, http2Settings: null, bodyLength: 0 });
      socket.end('HTTP/1.1 426 Upgrade Required\r\ncontent-type: text/plain\r\ncontent-length: 7\r\n\r\nrefused');
      return;
    }
    const switched = `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\nX-Backend: corpus\r\nX-Request-Id: from-backend\r\n\r\n`;
    if (path === '/tunnel/close-mid') {
      socket.end(`${switched}PARTIAL`);
      return;
    }
    if (path === '/tunnel/flood') {
      socket.write(switched);
      this.flood(socket);
      return;
    }
    // /tunnel/echo: a greeting, then every byte back; its end answered with BYE and its own end.
    let received = head.toString('latin1');
    socket.write(`${switched}READY;`);
    if (head.length > 0) socket.write(head);
    socket.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      socket.write(d);
    });
    socket.on('end', () => socket.end('BYE'));
    socket.on('close', () => this.tunnelBytes.set(name, received));
  }

  private flood(socket: Socket): void {
    this.floodAccepted = 0;
    this.floodDone = false;
    const pump = () => {
      while (this.floodAccepted < FLOOD_BYTES) {
        this.floodAccepted += FLOOD_CHUNK.length;
        if (!socket.write(FLOOD_CHUNK)) {
          socket.once('drain', pump);
          return;
        }
      }
      this.floodDone = true;
      socket.end();
    };
    socket.on('close', () => socket.removeAllListeners('drain'));
    pump();
  }
}

/** A raw client connection that collects what it receives (chunks kept apart: a flood must not be copied per read). */
class RawClient {
  readonly socket: Socket;
  private readonly chunks: Buffer[] = [];
  /** Bytes received so far. */
  receivedBytes = 0;
  closed = false;
  reset = false;
  ended = false;

  constructor(port: number, first: string) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      if (this.receivedBytes < KEEP_BYTES) this.chunks.push(d);
      this.receivedBytes += d.length;
    });
    this.socket.on('end', () => {
      this.ended = true;
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.reset = true;
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.write(first);
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  /** Bytes received after the response head (the head is in the first read, before any tunnel byte). */
  get tunnelBytes(): number {
    const first = this.chunks[0];
    const headEnd = first === undefined ? -1 : first.indexOf('\r\n\r\n');
    return headEnd < 0 ? 0 : this.receivedBytes - (headEnd + 4);
  }

  async waitFor(check: (c: RawClient) => boolean, what: string, ms = WAIT_MS): Promise<void> {
    await waitFor(async () => check(this), ms, what);
  }

  /** After a 101 head: the tunnel bytes received so far. */
  get tunnelText(): string {
    const text = this.text;
    const end = text.indexOf('\r\n\r\n');
    return end < 0 ? '' : text.slice(end + 4);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

describe.each(COMBOS)('upgrade tunnels, DATA_PLANE=$plane UPSTREAM_CLIENT=$client', ({ plane, client }) => {
  let proxy: TestProxy;
  const backend = new TunnelBackend();
  let port = 0;
  let fdsAtStart = 0;
  const open = (first: string) => new RawClient(port, first);
  const status = async () => (await proxy.admin('GET', '/status')).body.message;

  beforeAll(async () => {
    await backend.start();
    proxy = await startTestProxy({
      DATA_PLANE: plane,
      UPSTREAM_CLIENT: client,
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `c=http://127.0.0.1:${backend.port}`,
      MAX_TUNNELS: String(MAX_TUNNELS),
      TUNNEL_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
      UPSTREAM_IDLE_TIMEOUT_MS: '300',
      CLIENT_HEADERS_TIMEOUT_MS: '1000',
    });
    port = Number(new URL(proxy.url).port);
    const warm = open('GET /ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    await warm.waitFor((c) => c.closed, 'the proxy forwards');
    fdsAtStart = openFds(proxy.child.pid as number);
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
    await backend.stop();
  });

  it('switches protocols: the 101 passes through, bytes flow both ways, and a half-close is honoured', async () => {
    const c = open(upgradeRequest('/tunnel/echo', 'X-Case: echo\r\nSec-WebSocket-Protocol: chat\r\n'));
    await c.waitFor((x) => x.tunnelText.startsWith('READY;'), 'the 101 and the greeting');
    const [head] = parseResponses(c.text, ['GET']);
    expect(head?.status).toBe(101);
    expect(head?.headers.upgrade).toBe('echo');
    expect(head?.headers.connection?.toLowerCase()).toBe('upgrade');
    expect(head?.headers['x-backend']).toBe('corpus');
    // The proxy's request id replaces the backend's, as on every response.
    expect(head?.headers['x-request-id']).not.toBe('from-backend');
    c.socket.write('ping-1;');
    await c.waitFor((x) => x.tunnelText === 'READY;ping-1;', 'the echo');
    // The client finishes sending; the backend's answer to that end still reaches it.
    c.socket.end('last;');
    await c.waitFor((x) => x.closed, 'the tunnel closes after both ends');
    expect(c.tunnelText).toBe('READY;ping-1;last;BYE');
    expect(c.reset).toBe(false);
    expect(backend.tunnelBytes.get('echo')).toBe('ping-1;last;');
  });

  it('bytes sent with the upgrade request, before the 101, go through the tunnel and nowhere else', async () => {
    const early = 'GET /pipelined-after-upgrade HTTP/1.1\r\nHost: t\r\n\r\n';
    const c = open(upgradeRequest('/tunnel/echo', 'X-Case: early\r\n') + early);
    await c.waitFor((x) => x.tunnelText === `READY;${early}`, 'the early bytes echoed through the tunnel');
    c.destroy();
    await waitFor(async () => backend.tunnelBytes.has('early'), WAIT_MS, 'the backend saw the tunnel close');
    expect(backend.tunnelBytes.get('early')).toBe(early);
    expect(backend.seen.map((s) => s.url)).not.toContain('/pipelined-after-upgrade');
  });

  it('a request pipelined behind an upgrade the server refuses reaches nobody: the refusal, then the close', async () => {
    const c = open(`${upgradeRequest('/tunnel/refuse')}GET /smuggled-behind-refusal HTTP/1.1\r\nHost: t\r\n\r\n`);
    await c.waitFor((x) => x.closed, 'the close after the refusal');
    const responses = parseResponses(c.text, ['GET', 'GET']);
    expect(responses.map((r) => r.status)).toEqual([426]);
    expect(responses[0]?.body).toBe('refused');
    expect(backend.seen.map((s) => s.url)).not.toContain('/smuggled-behind-refusal');
  });

  it('an upgrade pipelined behind a plain request waits for its answer, then switches', async () => {
    const c = open(
      `GET /before-upgrade HTTP/1.1\r\nHost: t\r\n\r\n${upgradeRequest('/tunnel/echo', 'X-Case: second\r\n')}`,
    );
    await c.waitFor((x) => x.text.includes('READY;'), 'both answers');
    const text = c.text;
    expect(text.indexOf('/before-upgrade')).toBeLessThan(text.indexOf('101 Switching Protocols'));
    c.destroy();
  });

  it('an upgrade with a body is served as plain HTTP, the Upgrade dropped', async () => {
    const c = open(
      'POST /upgrade-with-body HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\nContent-Length: 5\r\n\r\nhello',
    );
    await c.waitFor((x) => parseResponses(x.text, ['POST']).length === 1, 'the plain answer');
    const [response] = parseResponses(c.text, ['POST']);
    expect(response?.status).toBe(200);
    expect(JSON.parse(response?.body ?? '{}')).toEqual({ url: '/upgrade-with-body', upgrade: null, bodyLength: 5 });
    c.destroy();
  });

  it('h2c is refused: served as plain HTTP/1.1, neither Upgrade nor HTTP2-Settings forwarded', async () => {
    const c = open(
      'GET /h2c HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    );
    await c.waitFor((x) => parseResponses(x.text, ['GET']).length === 1, 'the plain answer');
    expect(parseResponses(c.text, ['GET'])[0]?.status).toBe(200);
    expect(backend.seen.find((s) => s.url === '/h2c')).toMatchObject({ upgrade: null, http2Settings: null });
    c.destroy();
  });

  it('an upgrade on HEAD is served as plain HTTP: a head, no body, no tunnel', async () => {
    const c = open('HEAD /head-upgrade HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await c.waitFor((x) => parseResponses(x.text, ['HEAD']).length === 1, 'the head');
    const [response] = parseResponses(c.text, ['HEAD']);
    expect(response?.status).toBe(200);
    expect(response?.body).toBe('');
    expect(backend.seen.find((s) => s.url === '/head-upgrade')).toMatchObject({ upgrade: null });
    c.destroy();
  });

  it('a 101 to a request that did not ask is not followed: 502, no tunnel', async () => {
    const c = open('GET /unasked-101 HTTP/1.1\r\nHost: t\r\n\r\n');
    await c.waitFor((x) => parseResponses(x.text, ['GET']).length === 1, 'the answer');
    expect(parseResponses(c.text, ['GET'])[0]?.status).toBe(502);
    expect(c.text).not.toContain('RAW');
    c.destroy();
  });

  it('a server that closes mid-tunnel: the client gets its bytes, then the close, never a reset', async () => {
    const c = open(upgradeRequest('/tunnel/close-mid'));
    await c.waitFor((x) => x.ended, "the server's end carried to the client");
    expect(c.tunnelText).toBe('PARTIAL');
    expect(c.reset).toBe(false);
    c.socket.end();
    await c.waitFor((x) => x.closed, 'the close');
  });

  it('a client that stops reading holds the server back (backpressure), then gets every byte', async () => {
    const c = open(upgradeRequest('/tunnel/flood'));
    await c.waitFor((x) => x.receivedBytes > 0, 'the 101');
    c.socket.pause();
    const rssBefore = (await status()).process.rssBytes;
    // Long enough for an unbounded proxy to take in the whole flood; well inside the idle timeout.
    await new Promise((r) => setTimeout(r, 1000));
    expect(backend.floodDone).toBe(false);
    expect(backend.floodAccepted).toBeLessThan(FLOOD_BUFFER_CEILING);
    expect((await status()).process.rssBytes - rssBefore).toBeLessThan(FLOOD_RSS_CEILING);
    c.socket.resume();
    await c.waitFor((x) => x.closed, 'the whole flood, then the close', 20_000);
    expect(c.tunnelBytes).toBe(FLOOD_BYTES);
  }, 30_000);

  it(`MAX_TUNNELS=${MAX_TUNNELS}: one more gets 503 with Retry-After; a place freed is used again`, async () => {
    const held = Array.from({ length: MAX_TUNNELS }, (_, i) =>
      open(upgradeRequest('/tunnel/echo', `X-Case: held-${i}\r\n`)),
    );
    for (const c of held) await c.waitFor((x) => x.tunnelText.startsWith('READY;'), 'a held tunnel');
    expect((await status()).tunnels.open).toBe(MAX_TUNNELS);
    expect((await status()).servers[0].openTunnels).toBe(MAX_TUNNELS);
    const refused = open(upgradeRequest('/tunnel/echo'));
    await refused.waitFor((x) => x.closed, 'the refusal');
    const [response] = parseResponses(refused.text, ['GET']);
    expect(response?.status).toBe(503);
    expect(response?.headers['retry-after']).toBe('1');
    expect(JSON.parse(response?.body ?? '{}')).toMatchObject({ code: 'UNAVAILABLE', field: 'upgrade' });
    held[0]?.destroy();
    await waitFor(async () => (await status()).tunnels.open === MAX_TUNNELS - 1, WAIT_MS, 'a place freed');
    const again = open(upgradeRequest('/tunnel/echo'));
    await again.waitFor((x) => x.tunnelText.startsWith('READY;'), 'a tunnel in the freed place');
    for (const c of [...held, again]) c.destroy();
    expect((await status()).tunnels.refusedFull).toBeGreaterThanOrEqual(1);
    // The next case opens a tunnel: every place must be free by then.
    await waitFor(async () => (await status()).tunnels.open === 0, WAIT_MS, 'every place freed');
  });

  it('a silent tunnel is closed after the idle timeout', async () => {
    const c = open(upgradeRequest('/tunnel/echo', 'X-Case: idle\r\n'));
    await c.waitFor((x) => x.tunnelText.startsWith('READY;'), 'the tunnel');
    const openedAt = Date.now();
    await c.waitFor((x) => x.closed, 'the idle close', IDLE_TIMEOUT_MS * 3);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 200);
    expect((await status()).tunnels.closedIdle).toBeGreaterThanOrEqual(1);
  });

  it('leaves no tunnel, request or socket behind', async () => {
    await waitFor(
      async () => {
        const s = await status();
        return s.tunnels.open === 0 && s.totals.inflight === 0 && s.servers[0].inflight === 0;
      },
      WAIT_MS,
      'nothing open',
    );
    // Idle upstream sockets age out in 300 ms; what remains is the baseline plus at most the admin call's socket.
    await waitFor(
      async () => openFds(proxy.child.pid as number) <= fdsAtStart + 2,
      WAIT_MS,
      `file descriptors back to ${fdsAtStart}`,
    );
  });
});
