import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isTimeout,
  toClientError,
  UpstreamError,
  UpstreamSocketError,
  wasNeverSent,
} from '#proxy/forwarding/errors.js';
import { loadLlhttp } from '#proxy/forwarding/http1/llhttp.js';
import {
  type LlhttpPool,
  UpstreamClient,
  type UpstreamClientOptions,
} from '#proxy/forwarding/upstream/llhttp-client.js';
import type { UpstreamCall, UpstreamHandler, UpstreamRequest } from '#proxy/forwarding/upstream/upstream.js';

/**
 * The llhttp upstream client against real servers on loopback sockets:
 * node:http servers where its behaviour is enough, raw `net` servers where
 * the test needs exact bytes or a misbehaving server.
 */

const llhttp = loadLlhttp();
const OPTIONS: UpstreamClientOptions = {
  connections: 4,
  connectTimeoutMs: 1000,
  headersTimeoutMs: 2000,
  bodyTimeoutMs: 2000,
  idleTimeoutMs: 2000,
  maxHeaderBytes: 16 * 1024,
};

/** What a handler saw of one request. */
interface Outcome {
  status: number;
  headers: string[];
  body: Buffer;
  error: Error | undefined;
  interimSeen: boolean;
}

/** An UpstreamHandler that records everything and can hold reading paused (backpressure). */
class Recorder implements UpstreamHandler {
  status = 0;
  headers: string[] = [];
  chunks: Buffer[] = [];
  error: Error | undefined;
  call: UpstreamCall | undefined;
  resume: (() => void) | undefined;
  completed = false;
  interimSeen = false;
  /** Return false from every nth onData and resume after a tick (a slow client). */
  constructor(private readonly pauseEvery = 0) {}
  private n = 0;
  private settle: ((o: Outcome) => void) | undefined;
  readonly done = new Promise<Outcome>((resolve) => {
    this.settle = resolve;
  });
  headersSeen: () => void = () => {};

  onConnect(): void {
    throw new Error('the llhttp client never calls onConnect');
  }
  onUpstreamCall(call: UpstreamCall): void {
    this.call = call;
  }
  onUpgrade(): void {
    throw new Error('these tests never ask to upgrade');
  }
  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void): boolean {
    if (statusCode < 200) this.interimSeen = true;
    this.status = statusCode;
    this.headers = rawHeaders as string[];
    this.resume = resume;
    this.headersSeen();
    return true;
  }
  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    if (this.pauseEvery > 0 && ++this.n % this.pauseEvery === 0) {
      setTimeout(() => this.resume?.(), 2);
      return false;
    }
    return true;
  }
  onComplete(): void {
    this.completed = true;
    this.finish(undefined);
  }
  onError(err: Error): void {
    this.finish(err);
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
  header(name: string): string | undefined {
    for (let i = 0; i < this.headers.length; i += 2) {
      if ((this.headers[i] as string).toLowerCase() === name) return this.headers[i + 1];
    }
    return undefined;
  }
  private finish(error: Error | undefined): void {
    if (this.error !== undefined || this.completed !== (error === undefined)) {
      throw new Error('a request ended twice');
    }
    this.error = error;
    this.settle?.({
      status: this.status,
      headers: this.headers,
      body: this.body,
      error,
      interimSeen: this.interimSeen,
    });
  }
}

const get = (path: string, headers: string[] = ['host', 't']): UpstreamRequest => ({
  method: 'GET',
  path,
  headers,
  body: null,
  contentLength: -1,
});

function send(pool: LlhttpPool, request: UpstreamRequest, recorder = new Recorder()): Recorder {
  pool.dispatch(request, recorder);
  return recorder;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A node:http server on a free loopback port that counts the sockets it accepted. */
async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createHttpServer(handler);
  server.on('connection', (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return { server, address: `http://127.0.0.1:${port}`, open: () => sockets.size, accepted: () => accepted };
}

/** A raw TCP server: `onRequest` gets each socket and what it has received so far. */
async function rawServer(onData: (socket: Socket, received: string, count: number) => void) {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: NetServer = createNetServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let received = '';
    let count = 0;
    socket.on('data', (d) => {
      received += d.toString('latin1');
      // One call per complete request head (bodies are not used with raw servers).
      while (received.includes('\r\n\r\n')) {
        const end = received.indexOf('\r\n\r\n') + 4;
        const head = received.slice(0, end);
        received = received.slice(end);
        onData(socket, head, ++count);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return { address: `http://127.0.0.1:${port}`, open: () => sockets.size, accepted: () => accepted };
}

function newClient(options: Partial<UpstreamClientOptions> = {}) {
  const client = new UpstreamClient(llhttp, { ...OPTIONS, ...options });
  return client;
}

function poolFor(address: string, options: Partial<UpstreamClientOptions> = {}) {
  const client = newClient(options);
  const pool = client.pool(address);
  cleanups.push(() => pool.close());
  return { client, pool };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('llhttp upstream client', () => {
  it('reuses one keep-alive socket for requests in sequence', async () => {
    const server = await httpServer((req, res) => res.end(req.url));
    const { pool } = poolFor(server.address);
    for (const path of ['/a', '/b', '/c']) {
      const o = await send(pool, get(path)).done;
      expect(o.error).toBeUndefined();
      expect(o.status).toBe(200);
      expect(o.body.toString()).toBe(path);
    }
    expect(server.accepted()).toBe(1);
    expect(pool.size).toBe(1);
    expect(pool.idleCount).toBe(1);
  });

  it('opens at most `connections` sockets and queues the rest, one request per socket', async () => {
    let concurrent = 0;
    let most = 0;
    const server = await httpServer((req, res) => {
      concurrent++;
      most = Math.max(most, concurrent);
      setTimeout(() => {
        concurrent--;
        res.end(req.url);
      }, 20);
    });
    const { pool } = poolFor(server.address, { connections: 2 });
    const recorders = Array.from({ length: 7 }, (_, i) => send(pool, get(`/${i}`)));
    expect(pool.queued).toBe(5);
    const outcomes = await Promise.all(recorders.map((r) => r.done));
    expect(outcomes.map((o) => o.body.toString())).toEqual(recorders.map((_, i) => `/${i}`));
    expect(server.accepted()).toBe(2);
    expect(most).toBe(2);
    expect(pool.queued).toBe(0);
  });

  it('re-frames a body of unknown length as chunked, and passes a Content-Length body through', async () => {
    const seen: { te?: string; cl?: string; sha: string }[] = [];
    const server = await httpServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        seen.push({
          te: req.headers['transfer-encoding'],
          cl: req.headers['content-length'],
          sha: sha(Buffer.concat(parts)),
        });
        res.end('ok');
      });
    });
    const { pool } = poolFor(server.address);
    const payload = randomBytes(100_000);
    const pieces = () => Array.from({ length: 10 }, (_, i) => payload.subarray(i * 10_000, (i + 1) * 10_000));
    const chunked = await send(pool, {
      method: 'POST',
      path: '/up',
      headers: ['host', 't'],
      body: Readable.from(pieces()),
      contentLength: -1,
    }).done;
    const sized = await send(pool, {
      method: 'PUT',
      path: '/up',
      headers: ['host', 't'],
      body: Readable.from(pieces()),
      contentLength: payload.length,
    }).done;
    const empty = await send(pool, {
      method: 'POST',
      path: '/e',
      headers: ['host', 't'],
      body: null,
      contentLength: -1,
    }).done;
    expect([chunked.error, sized.error, empty.error]).toEqual([undefined, undefined, undefined]);
    expect(seen).toEqual([
      { te: 'chunked', cl: undefined, sha: sha(payload) },
      { te: undefined, cl: String(payload.length), sha: sha(payload) },
      { te: undefined, cl: '0', sha: sha(Buffer.alloc(0)) },
    ]);
    expect(server.accepted()).toBe(1);
  });

  it('streams large bodies both ways with backpressure, byte for byte', async () => {
    const server = await httpServer((req, res) => {
      // Echo with backpressure: pipe pauses the upload while the response is full.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    const { pool } = poolFor(server.address);
    const payload = randomBytes(8 * 1024 * 1024);
    const pieces = Array.from({ length: 128 }, (_, i) => payload.subarray(i * 65536, (i + 1) * 65536));
    // Pausing on every 4th chunk holds the upstream socket still, so the server's writes back up too.
    const recorder = new Recorder(4);
    const o = await send(
      pool,
      { method: 'POST', path: '/echo', headers: ['host', 't'], body: Readable.from(pieces), contentLength: -1 },
      recorder,
    ).done;
    expect(o.error).toBeUndefined();
    expect(o.body.length).toBe(payload.length);
    expect(sha(o.body)).toBe(sha(payload));
  });

  it('keeps every body chunk intact while other sockets read into the shared read buffer', async () => {
    // Every upstream socket reads into one buffer (onread): a chunk handed to a handler must be a
    // copy, or the next read on any socket overwrites it while it is still held (here, until the end).
    const payloads = Array.from({ length: 4 }, () => randomBytes(1024 * 1024));
    const server = await httpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(payloads[Number(req.url?.slice(1))]);
    });
    const { pool } = poolFor(server.address);
    const outcomes = await Promise.all(payloads.map((_, i) => send(pool, get(`/${i}`), new Recorder(3)).done));
    expect(pool.size).toBe(payloads.length);
    for (const [i, o] of outcomes.entries()) {
      expect(o.error).toBeUndefined();
      expect(sha(o.body)).toBe(sha(payloads[i] as Buffer));
    }
  });

  it('reads no body after HEAD, 204 or 304 whatever their Content-Length, and the socket stays usable', async () => {
    const server = await rawServer((socket, head) => {
      const path = /^\w+ (\S+)/.exec(head)?.[1];
      if (path === '/head') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n');
      else if (path === '/204') socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 50\r\n\r\n');
      else if (path === '/304') socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext');
    });
    const { pool } = poolFor(server.address);
    const head = await send(pool, { ...get('/head'), method: 'HEAD' }).done;
    const noContent = await send(pool, get('/204')).done;
    const notModified = await send(pool, get('/304')).done;
    const next = await send(pool, get('/next')).done;
    expect([head.status, noContent.status, notModified.status, next.status]).toEqual([200, 204, 304, 200]);
    expect([head.body.length, noContent.body.length, notModified.body.length]).toEqual([0, 0, 0]);
    expect(next.body.toString()).toBe('next');
    expect(server.accepted()).toBe(1);
  });

  it('takes a head of more than 32 fields whole, and drops chunked trailers rather than carry them over', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `X-F${i}: v${i}\r\n`).join('');
    const server = await rawServer((socket, head) => {
      if (head.startsWith('GET /trailers ')) {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: t\r\n\r\n');
      } else socket.write(`HTTP/1.1 200 OK\r\n${many}Content-Length: 2\r\n\r\nok`);
    });
    const { pool } = poolFor(server.address);
    const trailers = send(pool, get('/trailers'));
    expect((await trailers.done).body.toString()).toBe('ok');
    const big = send(pool, get('/many'));
    const o = await big.done;
    expect(o.headers.length).toBe(82);
    expect(big.header('x-f39')).toBe('v39');
    expect(big.header('x-trailer')).toBeUndefined();
    expect(server.accepted()).toBe(1);
  });

  it('skips 1xx interim responses', async () => {
    const server = await rawServer((socket) => {
      socket.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
      );
    });
    const { pool } = poolFor(server.address);
    const o = await send(pool, get('/')).done;
    expect(o).toMatchObject({ status: 201, interimSeen: false, error: undefined });
    expect(o.body.toString()).toBe('ok');
  });

  it('closes the socket after `connection: close`, and reads a body delimited by the close', async () => {
    const server = await rawServer((socket, head) => {
      if (head.startsWith('GET /close ')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
      } else {
        // HTTP/1.0 style: no length, the end of the connection ends the body.
        socket.write('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the ');
        setTimeout(() => socket.end('end'), 20);
      }
    });
    const { pool } = poolFor(server.address);
    const closing = await send(pool, get('/close')).done;
    expect(closing.body.toString()).toBe('hi');
    await until(() => pool.size === 0, 'the closed socket is forgotten');
    const eof = await send(pool, get('/eof')).done;
    expect(eof.error).toBeUndefined();
    expect(eof.body.toString()).toBe('until the end');
    await until(() => pool.size === 0, 'the close-delimited socket is forgotten');
    expect(server.accepted()).toBe(2);
  });

  it('fails a refused connect as never sent (ECONNREFUSED), leaving the body unread for a retry', async () => {
    const server = await httpServer(() => {});
    const address = server.address;
    await new Promise<void>((r) => server.server.close(() => r()));
    const { pool } = poolFor(address);
    const body = Readable.from([Buffer.from('payload')]);
    const o = await send(pool, { method: 'POST', path: '/', headers: ['host', 't'], body, contentLength: -1 }).done;
    expect(o.error).toBeInstanceOf(UpstreamError);
    expect(wasNeverSent(o.error)).toBe(true);
    expect(toClientError('s1', o.error)).toMatchObject({ status: 502, message: 'server s1 failed: ECONNREFUSED' });
    // What the Exchange checks before retrying elsewhere.
    expect(body.destroyed || body.readableDidRead).toBe(false);
    expect(pool.size).toBe(0);
  });

  it('fails a response cut mid-body as not never-sent, after its head', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial');
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    const { pool } = poolFor(server.address);
    const o = await send(pool, get('/')).done;
    expect(o.status).toBe(200);
    expect(o.body.toString()).toBe('partial');
    expect(o.error).toBeInstanceOf(UpstreamSocketError);
    expect(wasNeverSent(o.error)).toBe(false);
    expect(toClientError('s1', o.error).status).toBe(502);
  });

  it('times out a response head that does not come (a 504), and destroys the socket', async () => {
    const server = await rawServer(() => {
      // Never answers.
    });
    const { pool, client } = poolFor(server.address, { headersTimeoutMs: 150 });
    const started = performance.now();
    const o = await send(pool, get('/')).done;
    const took = performance.now() - started;
    expect(isTimeout(o.error)).toBe(true);
    expect(wasNeverSent(o.error)).toBe(false);
    expect(toClientError('s1', o.error)).toMatchObject({ status: 504 });
    // Within the timeout plus one sweep period.
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(150 + client.sweepIntervalMs + 100);
    await until(() => server.open() === 0, 'the server sees the socket closed');
  });

  it('times out a body that stalls, but not while the handler holds reading paused', async () => {
    const server = await rawServer((socket, head) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello');
      if (head.startsWith('GET /stall ')) return; // the other five bytes never come
      setTimeout(() => socket.write('world'), 400);
    });
    const { pool } = poolFor(server.address, { bodyTimeoutMs: 150 });
    const stalled = await send(pool, get('/stall')).done;
    expect(isTimeout(stalled.error)).toBe(true);
    expect(stalled.body.toString()).toBe('hello');

    // Paused by the handler past the body timeout: not a timeout.
    const slowReader = new Recorder();
    slowReader.onData = function (this: Recorder, chunk: Buffer) {
      this.chunks.push(chunk);
      if (this.chunks.length === 1) {
        setTimeout(() => this.resume?.(), 600);
        return false;
      }
      return true;
    };
    const paused = await send(pool, get('/slow'), slowReader).done;
    expect(paused.error).toBeUndefined();
    expect(paused.body.toString()).toBe('helloworld');
  });

  it('retires an idle socket the server closed, and the next request gets a fresh one', async () => {
    // A server that closes each connection 30 ms after answering, without saying so in advance.
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      setTimeout(() => socket.end(), 30);
    });
    const { pool } = poolFor(server.address);
    expect((await send(pool, get('/1')).done).error).toBeUndefined();
    await until(() => pool.size === 0, 'the closed idle socket is forgotten');
    const again = await send(pool, get('/2')).done;
    expect(again.error).toBeUndefined();
    expect(server.accepted()).toBe(2);
  });

  it('does not reuse a socket past its idle limit, or past the Keep-Alive timeout the server advertises', async () => {
    const server = await rawServer((socket, head) => {
      const hint = head.startsWith('GET /hint ') ? 'Keep-Alive: timeout=2\r\n' : '';
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${hint}\r\nok`);
    });
    const { pool } = poolFor(server.address, { idleTimeoutMs: 100, connectTimeoutMs: 10_000 });
    await send(pool, get('/1')).done;
    await sleep(150);
    await send(pool, get('/2')).done;
    expect(server.accepted()).toBe(2);
    // timeout=2 s, less undici's 2 s margin: not kept at all.
    await send(pool, get('/hint')).done;
    await until(() => pool.size === 0, 'the hinted socket closes');
  });

  it('reports a reused socket closed before any response byte as a socket error, not never-sent (the keep-alive race)', async () => {
    const server = await rawServer((socket, _head, count) => {
      if (count === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
    const { pool } = poolFor(server.address);
    await send(pool, get('/1')).done;
    const o = await send(pool, get('/2')).done;
    expect(o.error).toBeInstanceOf(UpstreamSocketError);
    expect(o.error?.message).toMatch(/reused/);
    // Like undici's UND_ERR_SOCKET: the Exchange may retry an idempotent request, within the budget.
    expect(wasNeverSent(o.error)).toBe(false);
  });

  it('destroys the socket when a request is aborted mid-response, and the pool carries on', async () => {
    let cut = 0;
    const server = await httpServer((req, res) => {
      if (req.url === '/ok') {
        res.end('ok');
        return;
      }
      res.writeHead(200);
      const timer = setInterval(() => res.write('tick'), 10);
      res.on('close', () => {
        clearInterval(timer);
        if (!res.writableFinished) cut++;
      });
    });
    const { pool } = poolFor(server.address);
    const recorder = new Recorder();
    recorder.headersSeen = () => setTimeout(() => recorder.call?.abort(new Error('client went away')), 30);
    const o = await send(pool, get('/stream'), recorder).done;
    expect(o.error?.message).toBe('client went away');
    await until(() => cut === 1, 'the server sees its response cut');
    expect(pool.size).toBe(0);
    expect((await send(pool, get('/ok')).done).body.toString()).toBe('ok');
  });

  it('abandons a queued request without touching a socket, and fails a body that errors while it waits', async () => {
    const server = await httpServer((req, res) => setTimeout(() => res.end(req.url), 50));
    const { pool } = poolFor(server.address, { connections: 1 });
    const first = send(pool, get('/first'));
    const queued = send(pool, get('/queued'));
    queued.call?.abort(new Error('gone'));
    expect((await queued.done).error?.message).toBe('gone');
    const body = new Readable({ read() {} });
    const failing = send(pool, { method: 'POST', path: '/b', headers: ['host', 't'], body, contentLength: -1 });
    body.destroy(new Error('malformed chunk'));
    expect((await failing.done).error?.message).toBe('malformed chunk');
    expect((await first.done).body.toString()).toBe('/first');
    expect(server.accepted()).toBe(1);
  });

  it('never sends more body than the declared Content-Length', async () => {
    const server = await httpServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    const { pool } = poolFor(server.address);
    const o = await send(pool, {
      method: 'POST',
      path: '/',
      headers: ['host', 't'],
      body: Readable.from([Buffer.from('abcdef')]),
      contentLength: 3,
    }).done;
    expect(o.error).toBeInstanceOf(UpstreamSocketError);
    expect(o.error?.message).toMatch(/exceeds its Content-Length/);
  });

  it('adds Host when the request has none (HTTP/1.0 clients)', async () => {
    const server = await httpServer((req, res) => res.end(req.headers.host));
    const { pool } = poolFor(server.address);
    const o = await send(pool, get('/', [])).done;
    expect(o.body.toString()).toBe(new URL(server.address).host);
  });

  it('refuses requests once closed (never sent), and leaves no socket open after close', async () => {
    const server = await httpServer((req, res) => setTimeout(() => res.end(req.url), 30));
    const client = newClient({ connections: 3 });
    const pool = client.pool(server.address);
    const running = Array.from({ length: 6 }, (_, i) => send(pool, get(`/${i}`)));
    await until(() => server.accepted() === 3, 'three sockets are open');
    const closed = pool.close();
    const refused = await send(pool, get('/late')).done;
    expect(wasNeverSent(refused.error)).toBe(true);
    // Running and queued requests finish first.
    const outcomes = await Promise.all(running.map((r) => r.done));
    expect(outcomes.every((o) => o.error === undefined)).toBe(true);
    await closed;
    expect(pool.size).toBe(0);
    expect(client.openSockets).toBe(0);
    await until(() => server.open() === 0, 'the server sees every socket closed');
  });
});
