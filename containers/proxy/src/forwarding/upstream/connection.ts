import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { nowMs } from '../clock.js';
import {
  UpstreamBodyTimeoutError,
  UpstreamConnectError,
  UpstreamConnectTimeoutError,
  UpstreamHeadersTimeoutError,
  UpstreamProtocolError,
  UpstreamSocketError,
} from '../errors.js';
import { LAST_CHUNK, writeChunk } from '../http1/chunked.js';
import { connectionOf, Http1Connection, tag } from '../http1/connection.js';
import { requestHead } from '../http1/framing.js';
import type { ParseError } from '../http1/llhttp.js';
import { equalsLower } from '../request-head.js';
import { type Call, onBodyClose } from './call.js';
import type { LlhttpPool } from './pool.js';

/** TCP keep-alive probes on upstream sockets, as undici's connector sets them. */
const TCP_KEEPALIVE_MS = 60_000;

/** The size of the one buffer every upstream socket reads into (libuv's own suggestion per read). */
const READ_BUFFER_BYTES = 64 * 1024;
/**
 * Every upstream socket reads into this one buffer (net's documented `onread` option), and the
 * parser consumes each read before the next can land in it: llhttp copies what it hands over
 * (header strings, body chunks), so nothing refers to the buffer after `data()` returns. This
 * skips the per-read Buffer allocation and the Readable stream's push and 'data' event, a
 * measurable share of the CPU per request (docs/benchmarks.md, "CPU per request").
 */
const READ_BUFFER = Buffer.allocUnsafe(READ_BUFFER_BYTES);

enum Phase {
  Connecting = 0,
  Idle = 1,
  /** The request is being written or its response head awaited. */
  Waiting = 2,
  /** The response head was delivered; its body is being read. */
  Reading = 3,
  Closed = 4,
}

/** A socket to `host:port` whose reads land in READ_BUFFER and go straight to its connection's parser. */
function connectUpstream(host: string, port: number): Socket {
  // One closure per socket (not per request): `onread` callbacks are not documented to get the socket as `this`.
  const socket: Socket = connect({
    host,
    port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (nread: number) => {
        connectionOf<UpstreamConnection>(socket).data(READ_BUFFER.subarray(0, nread));
        return true;
      },
    },
  });
  return socket;
}

/**
 * A socket for a tunnel's handshake: a plain stream (its reads are 'data' events, as a tunnel's pipe needs;
 * an `onread` socket never emits them), half-open, so a tunnel carries each direction's end on its own.
 * ended() closes every socket that is not a tunnel's.
 */
function connectForTunnel(host: string, port: number): Socket {
  return connect({ host, port, noDelay: true, allowHalfOpen: true });
}

// Listeners beyond the base's, shared by every socket and body: `this` leads to the connection.
function onConnect(this: Socket): void {
  connectionOf<UpstreamConnection>(this).connected();
}
function onSocketDrain(this: Socket): void {
  connectionOf<UpstreamConnection>(this).drained();
}
function onBodyData(this: Readable, chunk: Buffer): void {
  connectionOf<UpstreamConnection>(this).bodyData(chunk);
}
function onBodyEnd(this: Readable): void {
  connectionOf<UpstreamConnection>(this).bodyEnded();
}

const NO_BYTES = Buffer.alloc(0);

function abandonBody(b: Readable): void {
  if (!b.readableEnded && !b.destroyed) b.destroy();
}

/**
 * One upstream socket with its response parser: the client side of the
 * HTTP/1 codec (`forwarding/http1/`; the `net` data plane's ClientConnection
 * is its server side). It writes one call's request, with framing rebuilt
 * from the length the proxy parsed, streams the body with backpressure,
 * parses the response into the call's handler, and keeps the timestamps
 * the client's sweep checks.
 */
export class UpstreamConnection extends Http1Connection {
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
  /** A 1xx response is being parsed (skipped). */
  private interim = false;
  /** The parser finished the response; the call completes once execute() returns. */
  private messageDone = false;
  /** Bytes arrived that belong to no request: the socket is not reused. */
  private garbage = false;
  /** The 101's headers, once the server switched protocols for an upgrade call; the socket is the call's then. */
  private switched: string[] | null = null;
  /** The socket's own resume function, given to every handler (one closure per socket, not per request). */
  private readonly resume: () => void;

  constructor(pool: LlhttpPool, call: Call) {
    const { llhttp } = pool.client;
    super(
      call.upgrade === null ? connectUpstream(pool.host, pool.port) : connectForTunnel(pool.host, pool.port),
      llhttp,
      llhttp.RESPONSE,
      pool.options.maxHeaderBytes,
    );
    this.pool = pool;
    this.call = call;
    call.connection = this;
    this.since = nowMs();
    this.idleLimitMs = pool.options.idleTimeoutMs;
    this.resume = () => {
      if (!this.paused) return;
      this.paused = false;
      // The body timeout counts from here: the silence while paused was ours.
      this.since = nowMs();
      this.socket.resume();
    };
    this.socket.on('connect', onConnect);
    this.socket.on('drain', onSocketDrain);
  }

  protected get readingBody(): boolean {
    return this.phase === Phase.Reading;
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
    else this.start(call, nowMs());
  }

  becomeIdle(): void {
    this.phase = Phase.Idle;
    this.since = nowMs();
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
    this.resetHead();
    // The framing is ours, from the length the proxy parsed: never a header value passed through.
    const body = call.body;
    const head = requestHead(
      call.method,
      call.path,
      call.headers,
      this.pool.hostHeader,
      call.contentLength,
      body !== null,
      call.upgrade,
    );
    this.socket.write(head, 'latin1');
    if (body === null) {
      this.requestWritten = true;
      return;
    }
    this.chunked = call.contentLength < 0;
    this.bodyBytes = 0;
    this.bodyPaused = false;
    const b = tag(body, this);
    b.on('data', onBodyData);
    b.on('end', onBodyEnd);
  }

  // --- request body ---

  bodyData(chunk: Buffer): void {
    const call = this.call;
    if (call === null || chunk.length === 0) return;
    const socket = this.socket;
    let ok: boolean;
    if (this.chunked) ok = writeChunk(socket, chunk);
    else {
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > call.contentLength) {
        // Never send more than the head declared: the surplus would be read as another request.
        this.fail(new UpstreamSocketError(`the request body exceeds its Content-Length (${call.contentLength})`));
        return;
      }
      ok = socket.write(chunk);
    }
    // Like undici, a body still uploading keeps the headers timeout from running out.
    if (this.phase === Phase.Waiting) this.since = nowMs();
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
    if (this.phase === Phase.Reading) this.since = nowMs();
    const result = this.parser.execute(chunk);
    if (this.switched !== null) this.switchProtocols(chunk, result);
    else if (this.messageDone) this.complete(typeof result === 'number');
    else if (typeof result !== 'number' && this.call !== null) this.fail(new UpstreamProtocolError(result));
  }

  headersComplete(
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    _methodIndex: number,
    _url: string | undefined,
    statusCode: number,
    _upgrade: boolean,
    keepAlive: boolean,
  ): number {
    const raw = this.takeHeaders(headers);
    const call = this.call;
    if (call === null || this.messageDone) {
      this.garbage = true;
      return 1;
    }
    if (statusCode < 200) {
      if (statusCode === 101 && call.upgrade !== null) {
        // The bytes after this head are the new protocol's: llhttp stops here, and data() hands the socket over.
        this.switched = raw;
        return 2;
      }
      if (statusCode === 101) {
        // Only tunnelled requests ask to upgrade; a server switching protocols anyway cannot be followed.
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
    this.since = nowMs();
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
    if (this.switched !== null) return;
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

  /**
   * The server answered an upgrade call with 101: the socket leaves the pool
   * and the codec, and goes to the call's handler with whatever followed the
   * 101 in this read.
   */
  private switchProtocols(chunk: Buffer, result: number | ParseError): void {
    const call = this.call as Call;
    const headers = this.switched as string[];
    this.switched = null;
    const parsed = typeof result === 'number' ? result : result.bytesParsed;
    // A copy: the read's buffer is not the tunnel's to keep.
    const head = parsed < chunk.length ? Buffer.from(chunk.subarray(parsed)) : NO_BYTES;
    this.call = null;
    call.connection = null;
    call.done = true;
    this.phase = Phase.Closed;
    this.socket.removeListener('connect', onConnect);
    this.socket.removeListener('drain', onSocketDrain);
    this.detachSocket();
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.pool.closedConnection(this);
    call.handler.onUpgrade(101, headers, this.socket, head);
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

  socketError(err: Error): void {
    this.error = err;
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
