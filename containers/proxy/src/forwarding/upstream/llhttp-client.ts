import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import {
  ClientAbortedError,
  UpstreamBodyTimeoutError,
  UpstreamClosedError,
  UpstreamConnectError,
  UpstreamConnectTimeoutError,
  UpstreamHeadersTimeoutError,
  UpstreamProtocolError,
  UpstreamSocketError,
} from '../errors.js';
import {
  createParser,
  type HttpParser,
  type LlhttpBinding,
  type OnBody,
  type OnHeaders,
  type OnHeadersComplete,
  type ParseError,
} from '../net/llhttp.js';
import { equalsLower } from '../request-head.js';
import type { Upstream, UpstreamCall, UpstreamHandler, UpstreamRequest } from './upstream.js';

/**
 * The proxy's own HTTP/1.1 client for the hot path (UPSTREAM_CLIENT=llhttp):
 * a keep-alive pool per backend whose sockets parse responses with Node's
 * bundled llhttp (the binding the `net` data plane reads requests with), in
 * place of undici's client, which keeps its own llhttp (WebAssembly), builds
 * a request object, validates every header again and arms timers per request.
 *
 * - One request per socket at a time (no pipelining upstream); at most
 *   `connections` sockets per backend; requests wait in a FIFO queue past that.
 * - Request bodies stream with backpressure, framed from the request's
 *   parsed `contentLength` (written here as `content-length`), else re-framed
 *   as chunked; the header list carries no framing field.
 * - One interval timer for every pool (the sweep) enforces the connect,
 *   headers and body timeouts and closes idle sockets; nothing is armed per
 *   request. An idle socket past its keep-alive limit is also refused the
 *   moment it would be reused, so the sweep's period never lets a request
 *   race a server's keep-alive close.
 * - Errors say whether the request provably never reached a socket
 *   (UpstreamError.neverSent), which is what lets a retry skip the budget.
 */

export interface UpstreamClientOptions {
  /** Sockets per backend. */
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** From the last request byte written to the end of the response head. */
  readonly headersTimeoutMs: number;
  /** Longest silence between response body reads (not counted while the client holds us paused). */
  readonly bodyTimeoutMs: number;
  /** Idle keep-alive sockets close after this (or sooner when the server's Keep-Alive header says so). */
  readonly idleTimeoutMs: number;
  /** Largest response head accepted. */
  readonly maxHeaderBytes: number;
}

/** The sweep runs at most this often... */
const SWEEP_MAX_INTERVAL_MS = 1000;
/** ...and at least this often relative to the shortest timeout, so a timeout fires within 25% of its length. */
const SWEEP_FRACTION = 4;
/** Like undici's keepAliveTimeoutThreshold: leave a server's advertised keep-alive this much early. */
const KEEP_ALIVE_HINT_MARGIN_MS = 2000;
/** TCP keep-alive probes on upstream sockets, as undici's connector sets them. */
const TCP_KEEPALIVE_MS = 60_000;

enum Phase {
  Connecting = 0,
  Idle = 1,
  /** The request is being written or its response head awaited. */
  Waiting = 2,
  /** The response head was delivered; its body is being read. */
  Reading = 3,
  Closed = 4,
}

/** One upstream client per proxy: owns the sweep timer and the pools it sweeps. */
export class UpstreamClient {
  private readonly pools = new Set<LlhttpPool>();
  private timer: NodeJS.Timeout | undefined;
  readonly sweepIntervalMs: number;

  constructor(
    readonly llhttp: LlhttpBinding,
    readonly options: UpstreamClientOptions,
  ) {
    const shortest = Math.min(
      options.connectTimeoutMs,
      options.headersTimeoutMs,
      options.bodyTimeoutMs,
      options.idleTimeoutMs,
    );
    this.sweepIntervalMs = Math.max(10, Math.min(SWEEP_MAX_INTERVAL_MS, Math.floor(shortest / SWEEP_FRACTION)));
  }

  /** A pool for one backend at `address` (http://host:port). */
  pool(address: string): LlhttpPool {
    const pool = new LlhttpPool(this, address);
    this.pools.add(pool);
    if (this.timer === undefined) this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs).unref();
    return pool;
  }

  /** Sockets open across every pool (for tests and leak checks). */
  get openSockets(): number {
    let n = 0;
    for (const p of this.pools) n += p.size;
    return n;
  }

  /** Called by a pool once it is closed and empty. */
  forget(pool: LlhttpPool): void {
    this.pools.delete(pool);
    if (this.pools.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const pool of this.pools) pool.sweep(now);
  }
}

/** The keep-alive sockets to one backend and the requests waiting for one. */
export class LlhttpPool implements Upstream {
  readonly host: string;
  readonly port: number;
  /** The Host header sent when the client's request has none (HTTP/1.0). */
  readonly hostHeader: string;
  readonly options: UpstreamClientOptions;
  closed = false;
  private readonly all = new Set<UpstreamConnection>();
  /** Idle sockets, most recently used last (reused first, so the rest age out). */
  private readonly idle: UpstreamConnection[] = [];
  private readonly queue: Call[] = [];
  private closeWaiters: (() => void)[] | null = null;

  constructor(
    readonly client: UpstreamClient,
    readonly address: string,
  ) {
    const url = new URL(address);
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
    this.options = client.options;
  }

  get size(): number {
    return this.all.size;
  }

  private lastHint = '';
  private lastHintLimitMs = 0;

  /** How long a socket may idle given the server's `Keep-Alive` value; a server sends the same one every time, so it is parsed once. */
  idleLimitFor(keepAlive: string): number {
    if (keepAlive === this.lastHint) return this.lastHintLimitMs;
    const m = /timeout=\s*(\d+)/i.exec(keepAlive);
    const limit =
      m === null
        ? this.options.idleTimeoutMs
        : Math.min(this.options.idleTimeoutMs, Number(m[1]) * 1000 - KEEP_ALIVE_HINT_MARGIN_MS);
    this.lastHint = keepAlive;
    this.lastHintLimitMs = limit;
    return limit;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.closed) {
      handler.onError(new UpstreamClosedError());
      return;
    }
    const call = new Call(this, request, handler);
    handler.onUpstreamCall(call);
    if (call.body !== null) call.watchBody();
    this.assign(call);
  }

  close(): Promise<void> {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.destroy();
    if (this.all.size === 0 && this.queue.length === 0) {
      this.client.forget(this);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.closeWaiters ??= [];
      this.closeWaiters.push(resolve);
    });
  }

  /** Gives `call` an idle socket, a new one, or a place in the queue. */
  private assign(call: Call): void {
    const now = performance.now();
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (c.reusable(now)) {
        c.start(call, now);
        return;
      }
      c.destroy();
    }
    if (this.all.size < this.options.connections) {
      this.all.add(new UpstreamConnection(this, call));
      return;
    }
    this.queue.push(call);
  }

  /** A socket finished its request and may carry another. */
  release(c: UpstreamConnection): void {
    const next = this.queue.shift();
    if (next !== undefined) {
      c.start(next, performance.now());
      return;
    }
    if (this.closed) {
      c.destroy();
      return;
    }
    c.becomeIdle();
    this.idle.push(c);
  }

  /** A queued request was abandoned before it got a socket. */
  unqueue(call: Call): boolean {
    const i = this.queue.indexOf(call);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  /** A socket closed: forget it, and open another for the queue if one waits. */
  closedConnection(c: UpstreamConnection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.queue.shift();
    if (next !== undefined) this.all.add(new UpstreamConnection(this, next));
    else if (this.closed && this.all.size === 0) this.finishClose();
  }

  sweep(now: number): void {
    for (const c of this.all) c.sweep(now);
  }

  private finishClose(): void {
    this.client.forget(this);
    const waiters = this.closeWaiters;
    this.closeWaiters = null;
    if (waiters !== null) for (const w of waiters) w();
  }
}

/** One request through its life in a pool. */
class Call implements UpstreamCall {
  connection: UpstreamConnection | null = null;
  done = false;
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  readonly body: Readable | null;
  readonly contentLength: number;

  constructor(
    readonly pool: LlhttpPool,
    request: UpstreamRequest,
    readonly handler: UpstreamHandler,
  ) {
    this.method = request.method;
    this.path = request.path;
    this.headers = request.headers;
    this.body = request.body;
    this.contentLength = request.contentLength;
  }

  abort(err: Error): void {
    if (this.done) return;
    const c = this.connection;
    if (c !== null) {
      c.abandon(err);
      return;
    }
    this.pool.unqueue(this);
    this.fail(err);
  }

  /**
   * Listens for the body failing from the moment the request is accepted, as
   * undici does: a body that fails while the request waits for a socket (a
   * malformed chunk, a limit) fails the request instead of going unheard.
   * The listener stays for the body's life and ignores a finished call.
   */
  watchBody(): void {
    const b = this.body as WithCall<Readable>;
    b[kCall] = this;
    b.on('error', onBodyError);
    b.on('close', onBodyClose);
  }

  bodyFailed(err: Error): void {
    if (this.done) return;
    this.abort(err);
  }

  /** Ends the call with `err` (the handler hears of it once). */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.connection = null;
    this.body?.removeListener('close', onBodyClose);
    this.handler.onError(err);
  }
}

const kConnection = Symbol('ringmaster.upstreamConnection');
const kCall = Symbol('ringmaster.upstreamCall');
type Tagged<T> = T & { [kConnection]: UpstreamConnection };
type WithCall<T> = T & { [kCall]: Call };

// Listeners and parser callbacks shared by every socket: `this` leads to the connection, so nothing is allocated per request.
function onConnect(this: Tagged<Socket>): void {
  this[kConnection].connected();
}
function onSocketData(this: Tagged<Socket>, chunk: Buffer): void {
  this[kConnection].data(chunk);
}
function onSocketEnd(this: Tagged<Socket>): void {
  this[kConnection].ended();
}
function onSocketError(this: Tagged<Socket>, err: Error): void {
  this[kConnection].error = err;
}
function onSocketClose(this: Tagged<Socket>): void {
  this[kConnection].closed();
}
function onSocketDrain(this: Tagged<Socket>): void {
  this[kConnection].drained();
}
function onBodyData(this: Tagged<Readable>, chunk: Buffer): void {
  this[kConnection].bodyData(chunk);
}
function onBodyEnd(this: Tagged<Readable>): void {
  this[kConnection].bodyEnded();
}
function onBodyError(this: WithCall<Readable>, err: Error): void {
  this[kCall].bodyFailed(err);
}
function onBodyClose(this: WithCall<Readable>): void {
  // Destroyed without an error (the client went away): 'end' never came. After an error, 'error' said it.
  if (!this.readableEnded && !this.errored)
    this[kCall].bodyFailed(new ClientAbortedError('the request body was abandoned'));
}
const onHeaders: OnHeaders = function (this: HttpParser, headers) {
  (this as Tagged<HttpParser>)[kConnection].partialHeaders(headers);
};
const onHeadersComplete: OnHeadersComplete = function (
  this: HttpParser,
  _major,
  _minor,
  headers,
  _method,
  _url,
  statusCode,
  _message,
  _upgrade,
  keepAlive,
) {
  return (this as Tagged<HttpParser>)[kConnection].headersComplete(headers, statusCode, keepAlive);
};
const onBody: OnBody = function (this: HttpParser, chunk) {
  (this as Tagged<HttpParser>)[kConnection].body(chunk);
};
function onMessageComplete(this: HttpParser): void {
  (this as Tagged<HttpParser>)[kConnection].messageComplete();
}

/** The parser's callbacks, shared by every connection (each finds its connection through the parser). */
const PARSER_CALLBACKS = { onHeaders, onHeadersComplete, onBody, onMessageComplete };

function abandonBody(b: Readable): void {
  if (!b.readableEnded && !b.destroyed) b.destroy();
}

const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';
/** Methods for which a request without a body still says `content-length: 0` (as undici does). */
const EXPECTS_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);

/** One upstream socket with its response parser. */
class UpstreamConnection {
  private readonly socket: Tagged<Socket>;
  private readonly parser: Tagged<HttpParser>;
  private readonly pool: LlhttpPool;
  private phase = Phase.Connecting;
  /** When the current phase last made progress (connect start, last request byte, last read, idle start). */
  private since: number;
  call: Call | null;
  error: Error | undefined;
  /** Served a response before (for error messages: the keep-alive race). */
  private reused = false;
  private idleLimitMs: number;
  /** The response may be followed by another on this socket. */
  private keepAlive = true;
  /** The whole request (head and body) has been written. */
  private requestWritten = false;
  /** Re-frame the body as chunked. */
  private chunked = false;
  private bodyBytes = 0;
  private bodyPaused = false;
  /** Reading paused because the client is slower than the server. */
  private paused = false;
  private headerParts: string[] | null = null;
  /** A 1xx response is being parsed (skipped). */
  private interim = false;
  /** The parser finished the response; the call completes once execute() returns. */
  private messageDone = false;
  /** Bytes arrived that belong to no request: the socket is not reused. */
  private garbage = false;
  /** The socket's own resume function, given to every handler (one closure per socket, not per request). */
  private readonly resume: () => void;

  constructor(pool: LlhttpPool, call: Call) {
    this.pool = pool;
    this.call = call;
    call.connection = this;
    this.since = performance.now();
    this.idleLimitMs = pool.options.idleTimeoutMs;
    this.resume = () => {
      if (!this.paused) return;
      this.paused = false;
      // The body timeout counts from here: the silence while paused was ours.
      this.since = performance.now();
      this.socket.resume();
    };
    const { llhttp } = pool.client;
    const parser = createParser(
      llhttp,
      llhttp.RESPONSE,
      pool.options.maxHeaderBytes,
      PARSER_CALLBACKS,
    ) as Tagged<HttpParser>;
    parser[kConnection] = this;
    this.parser = parser;
    const socket = connect({ host: pool.host, port: pool.port, noDelay: true }) as Tagged<Socket>;
    socket[kConnection] = this;
    socket.on('connect', onConnect);
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.on('drain', onSocketDrain);
    this.socket = socket;
  }

  /** Idle, still open and young enough to carry another request now. */
  reusable(now: number): boolean {
    const s = this.socket;
    return this.phase === Phase.Idle && !s.destroyed && !s.readableEnded && now - this.since < this.idleLimitMs;
  }

  destroy(): void {
    this.socket.destroy();
  }

  connected(): void {
    this.socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    const call = this.call;
    // The request was abandoned while we connected: the socket serves the next one instead.
    if (call === null) this.pool.release(this);
    else this.start(call, performance.now());
  }

  becomeIdle(): void {
    this.phase = Phase.Idle;
    this.since = performance.now();
  }

  /** Writes `call`'s request on this (connected, idle) socket. */
  start(call: Call, now: number): void {
    this.call = call;
    call.connection = this;
    this.phase = Phase.Waiting;
    this.since = now;
    this.keepAlive = true;
    this.messageDone = false;
    this.requestWritten = false;
    this.paused = false;
    this.headerParts = null;
    let head = `${call.method} ${call.path} HTTP/1.1\r\n`;
    const headers = call.headers;
    let hasHost = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length === 4 && equalsLower(name, 'host')) hasHost = true;
      head += `${name}: ${headers[i + 1] as string}\r\n`;
    }
    if (!hasHost) head += `host: ${this.pool.hostHeader}\r\n`;
    // The framing is ours, from the length the proxy parsed: never a header value passed through.
    const body = call.body;
    if (call.contentLength >= 0) head += `content-length: ${call.contentLength}\r\n`;
    if (body === null) {
      if (call.contentLength < 0 && EXPECTS_PAYLOAD.has(call.method)) head += 'content-length: 0\r\n';
      this.socket.write(`${head}\r\n`, 'latin1');
      this.requestWritten = true;
      return;
    }
    this.chunked = call.contentLength < 0;
    if (this.chunked) head += 'transfer-encoding: chunked\r\n';
    this.socket.write(`${head}\r\n`, 'latin1');
    this.bodyBytes = 0;
    this.bodyPaused = false;
    const b = body as Tagged<Readable>;
    b[kConnection] = this;
    b.on('data', onBodyData);
    b.on('end', onBodyEnd);
  }

  // --- request body ---

  bodyData(chunk: Buffer): void {
    const call = this.call;
    if (call === null || chunk.length === 0) return;
    const socket = this.socket;
    let ok: boolean;
    if (this.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write(CRLF, 'latin1');
      socket.uncork();
    } else {
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > call.contentLength) {
        // Never send more than the head declared: the surplus would be read as another request.
        this.fail(new UpstreamSocketError(`the request body exceeds its Content-Length (${call.contentLength})`));
        return;
      }
      ok = socket.write(chunk);
    }
    // Like undici, a body still uploading keeps the headers timeout from running out.
    if (this.phase === Phase.Waiting) this.since = performance.now();
    if (!ok) {
      this.bodyPaused = true;
      call.body?.pause();
    }
  }

  drained(): void {
    if (!this.bodyPaused) return;
    this.bodyPaused = false;
    this.call?.body?.resume();
  }

  bodyEnded(): void {
    const call = this.call;
    if (call === null) return;
    this.detachBody(call);
    if (this.chunked) this.socket.write(LAST_CHUNK, 'latin1');
    else if (this.bodyBytes !== call.contentLength) {
      this.fail(new UpstreamSocketError(`the request body ended short of its Content-Length (${call.contentLength})`));
      return;
    }
    this.requestWritten = true;
  }

  /** Stops reading the request body; one cut short (a failure, an abort) is abandoned, as undici does. */
  private detachBody(call: Call, abandon = true): void {
    const b = call.body;
    if (b === null) return;
    b.removeListener('data', onBodyData);
    b.removeListener('end', onBodyEnd);
    b.removeListener('close', onBodyClose);
    this.bodyPaused = false;
    if (abandon) abandonBody(b);
  }

  // --- response ---

  data(chunk: Buffer): void {
    if (this.call === null) {
      // Bytes on an idle socket answer nothing we asked: never reuse it.
      this.socket.destroy();
      return;
    }
    if (this.phase === Phase.Reading) this.since = performance.now();
    const result = this.parser.execute(chunk);
    if (this.messageDone) this.complete(typeof result === 'number');
    else if (typeof result !== 'number' && this.call !== null) this.fail(new UpstreamProtocolError(result));
  }

  partialHeaders(headers: string[]): void {
    // After the head, these are a chunked body's trailers: dropped, as the Exchange drops undici's.
    if (this.phase === Phase.Reading) return;
    // llhttp hands headers over 32 pairs at a time when a head has more.
    if (this.headerParts === null) this.headerParts = headers;
    else for (const h of headers) this.headerParts.push(h);
  }

  headersComplete(headers: string[] | undefined, statusCode: number, keepAlive: boolean): number {
    let raw = headers ?? [];
    if (this.headerParts !== null) {
      raw = this.headerParts.concat(raw);
      this.headerParts = null;
    }
    const call = this.call;
    if (call === null || this.messageDone) {
      this.garbage = true;
      return 1;
    }
    if (statusCode < 200) {
      if (statusCode === 101) {
        // We never ask to upgrade; a server switching protocols anyway cannot be followed.
        this.garbage = true;
        this.fail(new UpstreamProtocolError(new Error('unrequested 101 Switching Protocols')));
        return 1;
      }
      // 100 Continue, 103 Early Hints: skipped, the final response follows.
      this.interim = true;
      return 1;
    }
    this.keepAlive = keepAlive;
    if (keepAlive) this.readKeepAliveHint(raw);
    this.phase = Phase.Reading;
    this.since = performance.now();
    if (!call.handler.onHeaders(statusCode, raw, this.resume)) this.pause();
    // HEAD answers, 204 and 304 have no body whatever their Content-Length says.
    return call.method === 'HEAD' || statusCode === 204 || statusCode === 304 ? 1 : 0;
  }

  body(chunk: Buffer): void {
    const call = this.call;
    if (call === null || this.interim || this.messageDone) return;
    if (!call.handler.onData(chunk)) this.pause();
  }

  messageComplete(): void {
    if (this.interim) {
      this.interim = false;
      return;
    }
    if (this.call !== null && !this.garbage) this.messageDone = true;
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  /** The response ended: the call completes and the socket returns to the pool, or closes. */
  private complete(parsedCleanly: boolean): void {
    const call = this.call as Call;
    this.messageDone = false;
    this.call = null;
    call.connection = null;
    call.done = true;
    const early = !this.requestWritten;
    if (early) this.detachBody(call, false);
    this.reused = true;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    // An early answer (the request body not all sent), `connection: close`, or trailing bytes: not reused.
    if (this.keepAlive && this.requestWritten && parsedCleanly && !this.garbage && !this.socket.destroyed) {
      this.pool.release(this);
    } else {
      this.phase = Phase.Closed;
      this.socket.destroy();
    }
    call.handler.onComplete(null);
    // Answered before the upload ended: the rest is abandoned once the answer is on its way.
    if (early && call.body !== null) abandonBody(call.body);
  }

  /** Ends the running call with `err` and destroys the socket. */
  private fail(err: Error): void {
    const call = this.call;
    if (call === null) return;
    this.call = null;
    this.messageDone = false;
    this.detachBody(call);
    this.phase = Phase.Closed;
    this.socket.destroy();
    call.fail(err);
  }

  /** The call was aborted by its handler. */
  abandon(err: Error): void {
    const call = this.call;
    if (call === null) return;
    if (this.phase === Phase.Connecting) {
      // Nothing written yet: the socket can still serve the next request once connected.
      this.call = null;
      call.fail(err);
      return;
    }
    this.fail(err);
  }

  ended(): void {
    // The server closed its side.
    const call = this.call;
    if (call !== null && this.phase === Phase.Reading) {
      // A body delimited by the end of the connection ends here; anything else was cut short.
      const result = this.parser.finish();
      if (this.messageDone) {
        this.keepAlive = false;
        this.complete(true);
        return;
      }
      this.fail(new UpstreamSocketError('the server closed the connection mid-response', result));
    } else if (call !== null) {
      this.fail(
        new UpstreamSocketError(
          this.reused ? 'the server closed a reused connection before responding' : 'the server closed the connection',
        ),
      );
    }
    this.socket.destroy();
  }

  closed(): void {
    const call = this.call;
    if (call !== null) {
      this.call = null;
      if (this.phase === Phase.Connecting) {
        // Nothing was read from the body: it stays whole for a retry on another server.
        call.fail(new UpstreamConnectError(this.pool.address, this.error));
      } else {
        this.detachBody(call);
        call.fail(new UpstreamSocketError('the connection closed', this.error));
      }
    }
    this.phase = Phase.Closed;
    this.parser.close();
    this.pool.closedConnection(this);
  }

  sweep(now: number): void {
    const elapsed = now - this.since;
    const o = this.pool.options;
    switch (this.phase) {
      case Phase.Connecting:
        if (elapsed > o.connectTimeoutMs) {
          const call = this.call;
          this.call = null;
          this.phase = Phase.Closed;
          this.socket.destroy();
          call?.fail(new UpstreamConnectTimeoutError(this.pool.address, o.connectTimeoutMs));
        }
        break;
      case Phase.Waiting:
        if (elapsed > o.headersTimeoutMs) this.fail(new UpstreamHeadersTimeoutError(o.headersTimeoutMs));
        break;
      case Phase.Reading:
        if (!this.paused && elapsed > o.bodyTimeoutMs) this.fail(new UpstreamBodyTimeoutError(o.bodyTimeoutMs));
        break;
      case Phase.Idle:
        if (elapsed >= this.idleLimitMs) {
          this.phase = Phase.Closed;
          this.socket.destroy();
        }
        break;
    }
  }

  /** `Keep-Alive: timeout=N` from the server shortens how long this socket may idle (as undici reads it). */
  private readKeepAliveHint(raw: readonly string[]): void {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length !== 10 || !equalsLower(name, 'keep-alive')) continue;
      this.idleLimitMs = this.pool.idleLimitFor(raw[i + 1] as string);
      if (this.idleLimitMs <= 0) this.keepAlive = false;
      return;
    }
  }
}

export type { ParseError };
