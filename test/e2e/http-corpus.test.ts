/**
 * HTTP/1.1 correctness corpus: exact bytes over raw sockets to the proxy on
 * loopback, asserting the safe outcome of each case. The same expectations
 * run against both data planes (DATA_PLANE=http, Node's own server, and
 * DATA_PLANE=net, the proxy's own connection handling) with both upstream
 * clients (UPSTREAM_CLIENT=llhttp and undici), and at the end each case's
 * outcome (status line, closed or not) must be the same on all four.
 * Response cases (a backend answering with odd or broken framing) follow.
 *
 * The backend is an in-test node:http server that reads every body to the
 * end before answering, so an answer never races the proxy's verdict on the
 * request, and which records every request it completes: a smuggled request
 * would show up in `seen`.
 */
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonAnswer, RecordingServer } from '../fuzz/recording-server.js';
import { startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';
import { type ParsedResponse, parseResponses, type RawStep, rawConversation } from '../helpers/raw-http.js';

const DATA_PLANES = ['http', 'net'] as const;
const UPSTREAM_CLIENTS = ['llhttp', 'undici'] as const;
const COMBOS = UPSTREAM_CLIENTS.flatMap((client) => DATA_PLANES.map((plane) => ({ plane, client })));

const HEADERS_TIMEOUT_MS = 500;
const REQUEST_TIMEOUT_MS = 1500;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
/** How long a case waits for the proxy's answer (or its close). */
const WAIT_MS = 3000;
/** The streaming route's chunk and ceiling: bounded, so an unnoticed abort still ends. */
const STREAM_CHUNK = Buffer.alloc(16 * 1024, 0x61);
const STREAM_MAX_CHUNKS = 400;
const STREAM_INTERVAL_MS = 2;

/** A summary of one case's outcome, compared across data planes. */
type Outcome = string;
const outcomes: Record<string, Record<string, Outcome>> = {};

class CorpusBackend {
  readonly seen: string[] = [];
  open = 0;
  streamsCut = 0;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer({ keepAliveTimeout: 5000 }, (req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url === '/heartbeat') {
      res.end('ok');
      return;
    }
    this.open++;
    res.once('close', () => {
      this.open--;
    });
    if (req.url === '/status/204') {
      this.seen.push(req.url);
      res.writeHead(204, { 'x-case': '204' }).end();
      return;
    }
    if (req.url === '/status/304') {
      this.seen.push(req.url);
      res.writeHead(304, { etag: '"v1"' }).end();
      return;
    }
    if (req.url === '/stream') {
      this.stream(res);
      return;
    }
    let bodyLength = 0;
    req.on('data', (d: Buffer) => {
      bodyLength += d.length;
    });
    req.on('end', () => {
      this.seen.push(req.url ?? '');
      const body = JSON.stringify({
        method: req.method,
        url: req.url,
        bodyLength,
        headerCount: req.rawHeaders.length / 2,
        upgrade: req.headers.upgrade ?? null,
        forwardedFor: req.headers['x-forwarded-for'] ?? null,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }

  /** A large, slow, chunked reply: stops when the proxy goes away (counted) or at the ceiling. */
  private stream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent++ >= STREAM_MAX_CHUNKS) {
        clearInterval(timer);
        res.end();
      } else res.write(STREAM_CHUNK);
    }, STREAM_INTERVAL_MS);
    res.once('close', () => {
      clearInterval(timer);
      if (!res.writableFinished) this.streamsCut++;
    });
  }
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

describe.each(COMBOS)('HTTP/1.1 corpus, DATA_PLANE=$plane UPSTREAM_CLIENT=$client', ({ plane, client }) => {
  let proxy: TestProxy;
  const backend = new CorpusBackend();
  let port = 0;
  const combo = `${plane}/${client}`;
  outcomes[combo] = {};
  const record = (name: string, value: Outcome) => {
    (outcomes[combo] as Record<string, Outcome>)[name] = value;
  };
  const talk = (steps: readonly RawStep[], until?: (text: string) => boolean, waitMs = WAIT_MS) =>
    rawConversation(port, steps, waitMs, until);
  /** Responses for `methods.length` requests, or all there are once the proxy closes. */
  const responsesFor = async (steps: readonly RawStep[], methods: string[]) => {
    const outcome = await talk(steps, (t) => parseResponses(t, methods).length >= methods.length);
    return { outcome, responses: parseResponses(outcome.text, methods) };
  };
  const summary = (rs: ParsedResponse[], closed: boolean) =>
    `${rs.map((r) => r.status).join(',')}${closed ? ' closed' : ''}`;

  beforeAll(async () => {
    await backend.start();
    proxy = await startTestProxy({
      DATA_PLANE: plane,
      UPSTREAM_CLIENT: client,
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `c=http://127.0.0.1:${backend.port}`,
      CLIENT_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      CLIENT_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
      // Idle upstream sockets close quickly, so a socket still open after an abort is a leak, not a pool.
      UPSTREAM_IDLE_TIMEOUT_MS: '300',
    });
    port = Number(new URL(proxy.url).port);
    await waitFor(
      async () => statusOf((await talk([get('/ready', 'Connection: close\r\n')])).text) === 200,
      5000,
      'the proxy forwards',
    );
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
    await backend.stop();
  });

  describe('request smuggling: refused with 400 and a closed connection, nothing smuggled through', () => {
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n';
    const cases: Record<string, string> = {
      'Content-Length with Transfer-Encoding': `POST /cl-te HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      'two different Content-Lengths': `POST /cl-cl HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd${smuggled}`,
      'Transfer-Encoding: xchunked': `POST /xchunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`,
      'Transfer-Encoding: chunked, identity': `POST /chunked-identity HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
      'obs-folded Transfer-Encoding': `POST /folded HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      'bad chunk size': `POST /bad-size HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${smuggled}`,
      'chunk size overflow': `POST /overflow HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n${smuggled}`,
      'bad chunk extension': `POST /bad-ext HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;\x01\r\nhello\r\n0\r\n\r\n${smuggled}`,
      'bare LF line endings': `GET /bare-lf HTTP/1.1\nHost: t\n\n${smuggled}`,
      'space before the colon': `GET /space HTTP/1.1\r\nHost: t\r\nContent-Length : 4\r\n\r\nabcd${smuggled}`,
      // Issue 14: a proxy obeying this Connection option drops the framing and forwards the body as a request.
      'Connection lists Content-Length': `POST /conn-cl HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      'Connection lists Transfer-Encoding': `POST /conn-te HTTP/1.1\r\nHost: t\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
      'Connection lists Host, in a second Connection field': `GET /conn-host HTTP/1.1\r\nHost: t\r\nConnection: x-a\r\nConnection: HOST\r\n\r\n${smuggled}`,
      // Not smuggling, but refused the same way: nothing tells which host the request is for.
      'HTTP/1.1 without Host': 'GET /no-host HTTP/1.1\r\n\r\n',
      // Fuzzer finding: forwarded with both, each server may honour a different one (RFC 9112 §3.2: 400).
      'Host twice': `GET /two-hosts HTTP/1.1\r\nHost: t\r\nHost: other\r\n\r\n${smuggled}`,
      // Fuzzer finding (DATA_PLANE=http): node:http's own 400 for the missing Host, then a second 400 for the bytes after it.
      'no Host, then bytes that are not HTTP': 'GET /no-host-garbage HTTP/1.1\r\n\r\ngarbage\r\n\r\n',
      // Fuzzer finding (DATA_PLANE=http): the refusal, then a second 400 for the broken Transfer-Encoding after it.
      'a refused request whose framing is also broken': `GET /refused-twice HTTP/1.1\r\nHost: t\r\nConnection: host\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`,
    };
    for (const [name, bytes] of Object.entries(cases)) {
      it(name, async () => {
        const outcome = await talk([bytes]);
        record(name, `${statusOf(outcome.text)}${outcome.closed ? ' closed' : ''}`);
        expect(outcome.text).toMatch(/^HTTP\/1\.1 400 /);
        // One answer, then the close: nothing after it (a second answer would be read as garbage).
        expect(outcome.text.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1);
        expect(outcome.closed).toBe(true);
        expect(outcome.reset).toBe(false);
        expect(backend.seen).not.toContain('/smuggled');
        // What the proxy refuses reaches no server.
        expect(backend.seen).not.toContain(/^\w+ (\S+)/.exec(bytes)?.[1]);
        if (name.startsWith('Connection lists')) {
          // The one error shape, naming the field at fault and the field it listed.
          const error = JSON.parse(outcome.text.slice(outcome.text.indexOf('\r\n\r\n') + 4));
          expect(error).toMatchObject({ status: 'failure', code: 'INVALID_INPUT', field: 'connection' });
          expect(error.message).toMatch(/^connection: lists (content-length|transfer-encoding|host),/);
        }
      });
    }
  });

  it('a chunked body with trailers, then a pipelined request: the trailers never join the next head (fuzzer finding)', async () => {
    const chunkedWithTrailer =
      'POST /trailers HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n';
    const { responses, outcome } = await responsesFor([chunkedWithTrailer + get('/after-trailers')], ['POST', 'GET']);
    record('trailers then pipelined', summary(responses, outcome.closed));
    expect(responses.map((r) => JSON.parse(r.body).url)).toEqual(['/trailers', '/after-trailers']);
    expect(JSON.parse(responses[1]?.body ?? '{}').headerCount).toBeLessThan(8);
  });

  it('HEAD refused for a missing Host: the answer has no body (fuzzer finding)', async () => {
    const outcome = await talk(['HEAD /head-no-host HTTP/1.1\r\n\r\n']);
    record('HEAD without Host', `${statusOf(outcome.text)}${outcome.closed ? ' closed' : ''}`);
    expect(statusOf(outcome.text)).toBe(400);
    expect(outcome.text.endsWith('\r\n\r\n')).toBe(true);
  });

  it('an Expect other than 100-continue is dropped and the request forwarded (fuzzer finding)', async () => {
    const { responses, outcome } = await responsesFor(
      [get('/expect-foo', 'Expect: foo\r\n') + get('/after-expect')],
      ['GET', 'GET'],
    );
    record('Expect: foo', summary(responses, outcome.closed));
    expect(responses.map((r) => JSON.parse(r.body).url)).toEqual(['/expect-foo', '/after-expect']);
  });

  it('a malformed request pipelined behind a good one is refused after its answer, never before it (fuzzer finding)', async () => {
    const outcome = await talk([`${get('/before-garbage')}garbage\r\n\r\n`]);
    const responses = parseResponses(outcome.text, ['GET', 'GET']);
    // The net plane answers the 400 after the 200; node:http may close without it once the 200 is out.
    record('garbage pipelined', `first ${responses[0]?.status}${outcome.closed ? ' closed' : ''}`);
    expect(JSON.parse(responses[0]?.body ?? '{}').url).toBe('/before-garbage');
    expect(responses.slice(1).map((r) => r.status)).not.toContain(200);
    expect(responses.length).toBeLessThanOrEqual(2);
    expect(outcome.closed).toBe(true);
  });

  it('CONNECT pipelined behind a request: its 405 waits for that answer (fuzzer finding)', async () => {
    const connectAfter = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n';
    const { responses } = await responsesFor([get('/before-connect') + connectAfter], ['GET', 'GET']);
    // The net plane answers the 405 after the 200; node:http hands the socket over at CONNECT and may end it first.
    record('CONNECT pipelined', `first ${responses[0]?.status}`);
    expect(JSON.parse(responses[0]?.body ?? '{}').url).toBe('/before-connect');
    expect(responses.slice(1).map((r) => r.status)).toEqual(responses.length > 1 ? [405] : []);
  });

  it('answers pipelined requests in order on one connection', async () => {
    const paths = ['/p1', '/p2?x=1', '/p3'];
    const post = 'POST /p4 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello';
    const { responses, outcome } = await responsesFor(
      [paths.map((p) => get(p)).join('') + post + get('/p5')],
      ['GET', 'GET', 'GET', 'POST', 'GET'],
    );
    record('pipelining', summary(responses, outcome.closed));
    expect(responses.map((r) => JSON.parse(r.body).url)).toEqual([...paths, '/p4', '/p5']);
    expect(JSON.parse(responses[3]?.body ?? '{}').bodyLength).toBe(5);
    expect(outcome.closed).toBe(false);
  });

  it('a pipelined request that says Connection: close closes after its own answer, not after the first', async () => {
    const outcome = await talk([get('/c1') + get('/c2') + get('/c3', 'Connection: close\r\n')]);
    const responses = parseResponses(outcome.text, ['GET', 'GET', 'GET']);
    record('pipelined close', summary(responses, outcome.closed));
    expect(responses.map((r) => JSON.parse(r.body).url)).toEqual(['/c1', '/c2', '/c3']);
    expect(outcome.closed).toBe(true);
  });

  it('Expect: 100-continue gets 100 Continue, then the final answer once the body is sent', async () => {
    let sentBody = false;
    const outcome = await talk(
      [
        'POST /expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n',
        { pauseMs: 300 },
        'hello',
      ],
      (t) => {
        sentBody = sentBody || t.includes('100 Continue');
        return parseResponses(t, ['POST']).some((r) => r.status === 200);
      },
    );
    const responses = parseResponses(outcome.text, ['POST']);
    record('expect 100-continue', summary(responses, outcome.closed));
    expect(responses.map((r) => r.status)).toEqual([100, 200]);
    expect(JSON.parse(responses[1]?.body ?? '{}').bodyLength).toBe(5);
  });

  it('HTTP/1.0 without keep-alive: one answer, then the proxy closes', async () => {
    const outcome = await talk(['GET /v10 HTTP/1.0\r\n\r\n']);
    const [response] = parseResponses(outcome.text, ['GET']);
    record('HTTP/1.0 close', `${response?.status}${outcome.closed ? ' closed' : ''}`);
    expect(response?.status).toBe(200);
    expect(JSON.parse(response?.body ?? '{}').url).toBe('/v10');
    expect(outcome.closed).toBe(true);
  });

  it('HTTP/1.0 with keep-alive: the connection serves a second request', async () => {
    const req = (p: string) => `GET ${p} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`;
    const { responses, outcome } = await responsesFor([req('/ka1'), { pauseMs: 200 }, req('/ka2')], ['GET', 'GET']);
    record('HTTP/1.0 keep-alive', summary(responses, outcome.closed));
    expect(responses.map((r) => JSON.parse(r.body).url)).toEqual(['/ka1', '/ka2']);
    expect(responses[0]?.headers.connection?.toLowerCase()).toBe('keep-alive');
  });

  for (const [name, first] of [
    ['HEAD', 'HEAD /home HTTP/1.1\r\nHost: t\r\n\r\n'],
    ['204', get('/status/204')],
    ['304', get('/status/304')],
  ] as const) {
    it(`${name} carries no body: the next response on the connection parses cleanly`, async () => {
      const methods = [name === 'HEAD' ? 'HEAD' : 'GET', 'GET'];
      const { responses, outcome } = await responsesFor([first + get('/after')], methods);
      record(`${name} no body`, summary(responses, outcome.closed));
      expect(responses.map((r) => r.status)).toEqual([name === 'HEAD' ? 200 : Number(name), 200]);
      expect(responses[0]?.body).toBe('');
      expect(JSON.parse(responses[1]?.body ?? '{}').url).toBe('/after');
      if (name === 'HEAD') expect(Number(responses[0]?.headers['content-length'])).toBeGreaterThan(0);
    });
  }

  it("an upgrade the server declines: the server's plain answer, then the close (tunnels: tunnel-corpus.test.ts)", async () => {
    const outcome = await talk(
      [get('/ws', 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n')],
      (t) => parseResponses(t, ['GET']).length > 0,
    );
    const [response] = parseResponses(outcome.text, ['GET']);
    record('upgrade', `${response?.status}`);
    // Forwarded as an upgrade (the backend has no upgrade handler, so it answers as plain HTTP).
    expect(response?.status).toBe(200);
    expect(JSON.parse(response?.body ?? '{}')).toMatchObject({ url: '/ws', upgrade: 'websocket' });
  });

  it('CONNECT is refused with 405 and a closed connection, never a reset', async () => {
    const outcome = await talk(['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n']);
    record('CONNECT', `${statusOf(outcome.text)}${outcome.closed ? ' closed' : ''}`);
    expect(statusOf(outcome.text)).toBe(405);
    expect(outcome.closed).toBe(true);
    expect(outcome.reset).toBe(false);
  });

  it('oversized headers get 431, never a reset', async () => {
    const outcome = await talk([get('/big', `X-Big: ${'a'.repeat(MAX_HEADER_BYTES + 100)}\r\n`)]);
    record('header bytes 431', `${statusOf(outcome.text)}${outcome.closed ? ' closed' : ''}`);
    expect(statusOf(outcome.text)).toBe(431);
    expect(outcome.reset).toBe(false);
  });

  it('too many headers get 431, never a reset', async () => {
    const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const outcome = await talk([get('/many', many)]);
    record('header count 431', `${statusOf(outcome.text)}`);
    expect(statusOf(outcome.text)).toBe(431);
    expect(outcome.reset).toBe(false);
  });

  it('headers arriving in pieces under the limits are forwarded', async () => {
    const some = Array.from({ length: 60 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const whole = get('/pieces', some);
    const pieces: RawStep[] = [];
    for (let i = 0; i < whole.length; i += 97) pieces.push(whole.slice(i, i + 97), { pauseMs: 1 });
    const { responses } = await responsesFor(pieces, ['GET']);
    record('headers in pieces', summary(responses, false));
    expect(responses[0]?.status).toBe(200);
    expect(JSON.parse(responses[0]?.body ?? '{}').headerCount).toBeGreaterThanOrEqual(61);
  });

  it('slowloris headers: 408 within the headers timeout, then close', async () => {
    const started = performance.now();
    const outcome = await talk(['GET /slow HTTP/1.1\r\nHost: t\r\n', { pauseMs: 400 }, 'X-A: 1\r\n'], undefined, 5000);
    record('slowloris headers', `${statusOf(outcome.text)}${outcome.closed ? ' closed' : ''}`);
    expect(statusOf(outcome.text)).toBe(408);
    expect(outcome.closed).toBe(true);
    expect(performance.now() - started).toBeLessThan(HEADERS_TIMEOUT_MS + 2000);
  });

  it('slowloris body: 408 within the request timeout, then close; the backend saw nothing complete', async () => {
    const outcome = await talk(
      ['POST /slow-body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc'],
      undefined,
      REQUEST_TIMEOUT_MS + 2500,
    );
    record('slowloris body', `${statusOf(outcome.text)}${outcome.closed ? ' closed' : ''}`);
    expect(statusOf(outcome.text)).toBe(408);
    expect(outcome.closed).toBe(true);
    expect(backend.seen).not.toContain('/slow-body');
  });

  it('slowloris body on a HEAD: 408 with its head only (no answer to a HEAD has a body), then close', async () => {
    const outcome = await talk(
      ['HEAD /slow-head HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc'],
      undefined,
      REQUEST_TIMEOUT_MS + 2500,
    );
    const afterHead = outcome.text.slice(outcome.text.indexOf('\r\n\r\n') + 4);
    record(
      'slowloris body on a HEAD',
      `${statusOf(outcome.text)} ${JSON.stringify(afterHead)}${outcome.closed ? ' closed' : ''}`,
    );
    expect(statusOf(outcome.text)).toBe(408);
    expect(outcome.text).toContain('\r\n\r\n');
    expect(afterHead).toBe('');
    expect(outcome.closed).toBe(true);
    expect(backend.seen).not.toContain('/slow-head');
  });

  it('a declared body over the limit gets 413 and a closed connection', async () => {
    const outcome = await talk([
      `POST /too-big HTTP/1.1\r\nHost: t\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\nab`,
    ]);
    record('413', `${statusOf(outcome.text)}${outcome.closed ? ' closed' : ''}`);
    expect(statusOf(outcome.text)).toBe(413);
    expect(outcome.closed).toBe(true);
  });

  it('a client that aborts mid-body leaks no upstream request and no socket', async () => {
    const pid = proxy.child.pid as number;
    const before = openFds(pid);
    await Promise.all(
      Array.from({ length: 10 }, () =>
        talk(
          ['POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\n\r\n', Buffer.alloc(10_000, 1)],
          undefined,
          200,
        ),
      ),
    );
    await waitFor(() => backend.open === 0, 3000, 'the backend sees every upload abandoned');
    await waitFor(() => openFds(pid) <= before, 3000, `proxy fds back to ${before}`);
    const status = (await proxy.admin('GET', '/status')).body.message;
    expect(status.totals.inflight).toBe(0);
    expect(backend.seen).not.toContain('/upload');
    record('abort mid-upload', 'no leak');
  });

  it('a client that aborts mid-response stops the upstream stream and leaks no socket', async () => {
    const pid = proxy.child.pid as number;
    const before = openFds(pid);
    const cutBefore = backend.streamsCut;
    await Promise.all(Array.from({ length: 5 }, () => talk([get('/stream')], (t) => t.length > 100_000)));
    await waitFor(() => backend.streamsCut - cutBefore === 5, 3000, 'the backend sees every stream cut');
    await waitFor(() => backend.open === 0, 3000, 'no request open on the backend');
    await waitFor(() => openFds(pid) <= before, 3000, `proxy fds back to ${before}`);
    record('abort mid-response', 'no leak');
  });

  it('a client that stops reading for a while still gets the whole reply (backpressure, no loss)', async () => {
    const text = await slowReader(port, get('/stream', 'Connection: close\r\n'), 1000, 20_000);
    const [reply] = parseResponses(text, ['GET']);
    record('slow reader', `${reply?.status} ${reply?.body.length}`);
    expect(reply?.body.length).toBe(STREAM_CHUNK.length * STREAM_MAX_CHUNKS);
  });

  it('streams a large chunked upload through and a large reply back', async () => {
    const size = 48 * 1024;
    const chunk = 'x'.repeat(4096);
    const steps: RawStep[] = ['POST /large HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n'];
    for (let sent = 0; sent < size; sent += chunk.length) steps.push(`1000\r\n${chunk}\r\n`);
    steps.push('0\r\n\r\n');
    const { responses } = await responsesFor(steps, ['POST']);
    record('chunked upload', summary(responses, false));
    expect(JSON.parse(responses[0]?.body ?? '{}').bodyLength).toBe(size);
    const stream = await talk([get('/stream', 'Connection: close\r\n')], undefined, 20_000);
    const [reply] = parseResponses(stream.text, ['GET']);
    expect(reply?.body.length).toBe(STREAM_CHUNK.length * STREAM_MAX_CHUNKS);
  });
});

/** Reads a whole close-delimited reply, not reading at all for `stallMs` after the head arrives. */
function slowReader(port: number, request: string, stallMs: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let stalled = false;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (!stalled) {
        stalled = true;
        socket.pause();
        setTimeout(() => socket.resume(), stallMs);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(request);
  });
}

/**
 * Response cases: a backend that answers with odd or broken framing on a
 * kept-alive connection. Each case's request is followed on the same client
 * connection by a plain one, which must get its own answer; a response the
 * proxy cannot frame safely is a 502 (or, once its head is gone, a cut
 * connection), and bytes after a response never reach any client.
 */
const STRAY = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray';
/** The outcome expected: one for both upstream clients, or each client's where they differ (both safe). */
type Expected = string | { readonly llhttp: string; readonly undici: string };
const RESPONSE_CASES: Record<string, { answer: string; after?: 'close'; expect: Expected }> = {
  'Connection lists Content-Length': {
    answer: 'HTTP/1.1 200 OK\r\nConnection: keep-alive, Content-Length\r\nContent-Length: 5\r\n\r\nhello',
    expect: '200 hello, 200',
  },
  'Connection lists Transfer-Encoding': {
    answer:
      'HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    expect: '200 hello, 200',
  },
  'a second response after the first': {
    answer: `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello${STRAY}`,
    expect: '200 hello, 200',
  },
  // Both clients answer the 204 (it has no body, whatever its Content-Length says) and drop the socket, so the
  // bytes after it reach nobody. (undici 7 cut the client instead; undici 8 reads it as the llhttp client does.)
  'bytes after a 204': {
    answer: `HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello${STRAY}`,
    expect: '204 , 200',
  },
  'bytes after a chunked body': {
    answer: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${STRAY}`,
    expect: '200 hello, 200',
  },
  'Content-Length with Transfer-Encoding': {
    answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    expect: '502, 200',
  },
  'two different Content-Lengths': {
    answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    expect: '502, 200',
  },
  'a signed Content-Length': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello', expect: '502, 200' },
  'bare LF in the head': { answer: 'HTTP/1.1 200 OK\nContent-Length: 5\n\nhello', expect: '502, 200' },
  // undici refuses a 100 Continue it did not ask for (a 502); the llhttp client skips it, as RFC 9110 §15.2 says a client may.
  'an interim 100, then the answer': {
    answer: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
    expect: { llhttp: '200 hello, 200', undici: '502, 200' },
  },
  'a body delimited by the close': { answer: 'HTTP/1.1 200 OK\r\n\r\nhello', after: 'close', expect: '200 hello, 200' },
  'a body cut short of its Content-Length': {
    answer: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello',
    after: 'close',
    expect: 'cut',
  },
  'a malformed chunk size': {
    answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    expect: 'cut',
  },
};

describe.each(COMBOS)('HTTP/1.1 response corpus, DATA_PLANE=$plane UPSTREAM_CLIENT=$client', ({ plane, client }) => {
  let proxy: TestProxy;
  let port = 0;
  const combo = `${plane}/${client}`;
  const backend = new RecordingServer((request) => {
    const name = decodeURIComponent(request.url.slice('/resp/'.length));
    const c = RESPONSE_CASES[name];
    if (c === undefined) return { bytes: jsonAnswer({ url: request.url }) };
    return { bytes: c.answer, after: c.after ?? 'keep' };
  });

  beforeAll(async () => {
    await backend.start();
    proxy = await startTestProxy({
      DATA_PLANE: plane,
      UPSTREAM_CLIENT: client,
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `r=${backend.address}`,
      // Every 502 here is the case's point: the one backend stays in rotation, and nothing is retried.
      EJECT_CONSECUTIVE_FAILURES: '1000',
      HEALTH_INTERVAL_MS: '60000',
      RETRY_BUDGET_RATIO: '0',
      RETRY_BUDGET_MIN: '0',
      RETRY_WAIT_MS: '0',
    });
    port = Number(new URL(proxy.url).port);
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
    await backend.stop();
  });

  for (const [name, c] of Object.entries(RESPONSE_CASES)) {
    const expected = typeof c.expect === 'string' ? c.expect : c.expect[client];
    it(`${name}: ${expected}`, async () => {
      const path = `/resp/${encodeURIComponent(name)}`;
      // POST: never retried, so a 502 is the one attempt's answer.
      const first = `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi`;
      const then = get(`/after/${encodeURIComponent(name)}`);
      const outcome = await rawConversation(port, [first + then], WAIT_MS, (t) =>
        parseResponses(t, ['POST', 'GET']).some((r) => r.status >= 200 && r.body.includes('/after/')),
      );
      const responses = parseResponses(outcome.text, ['POST', 'GET']).filter((r) => r.status >= 200);
      const seen =
        responses.length === 0 && outcome.closed
          ? 'cut'
          : responses
              .map((r) => (r.status === 200 && !r.body.includes('/after/') ? `200 ${r.body}` : `${r.status}`))
              .map((r, i) => (i === 0 && r.startsWith('204') ? '204 ' : r))
              .join(', ');
      (outcomes[combo] as Record<string, Outcome>)[`response: ${name}`] = seen === expected ? 'as expected' : seen;
      expect(seen).toBe(expected);
      expect(outcome.text).not.toContain('stray');
      if (expected !== 'cut') expect(responses[1]?.body).toContain(`/after/${encodeURIComponent(name)}`);
    });
  }

  it('after every stray byte above, pooled connections still answer each request with its own response', async () => {
    const paths = Array.from({ length: 24 }, (_, i) => `/resp/own-${i}`);
    const answers = await Promise.all(
      paths.map(async (p) => {
        const outcome = await rawConversation(port, [get(p, 'Connection: close\r\n')], WAIT_MS);
        return parseResponses(outcome.text, ['GET'])[0]?.body ?? outcome.text;
      }),
    );
    expect(answers.map((a) => JSON.parse(a).url)).toEqual(paths);
    // The proxy read every response head it forwarded with a strict parser: nothing here was refused upstream.
    expect(backend.parseErrors).toEqual([]);
  });
});

describe('every data plane and upstream client', () => {
  it('give the same outcome for every case', () => {
    const [first, ...rest] = COMBOS.map(({ plane, client }) => outcomes[`${plane}/${client}`] ?? {});
    expect(Object.keys(first ?? {}).length).toBeGreaterThan(30);
    for (const other of rest) expect(other).toEqual(first);
  });
});
