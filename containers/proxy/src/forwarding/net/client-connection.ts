import type { Socket } from 'node:net';
import { MalformedRequestError, RequestTimeoutError } from '../errors.js';
import { equalsLower } from '../request-head.js';
import {
  createParser,
  type HttpParser,
  type LlhttpBinding,
  type OnBody,
  type OnHeaders,
  type OnHeadersComplete,
  type ParseError,
} from './llhttp.js';
import { NetClientRequest } from './net-client-request.js';

/** What a connection needs from its server: where requests go, limits, and whether we are draining. */
export interface ConnectionHost {
  readonly llhttp: LlhttpBinding;
  readonly maxHeaderBytes: number;
  readonly requestTimeoutMs: number;
  /** True once shutdown began: no connection is kept alive after its response. */
  readonly draining: boolean;
  handle(request: NetClientRequest): void;
  forget(connection: ClientConnection): void;
}

/** An answer the connection gives itself (malformed request, limits, timeouts), always closing. */
class CannedReply {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly code: string,
    /** The answer is to a HEAD request: its head only (a body would be read as the next response). */
    readonly toHead = false,
  ) {}
}

type Entry = NetClientRequest | CannedReply;

const kConnection = Symbol('ringmaster.connection');
type ParserWithConnection = HttpParser & { [kConnection]: ClientConnection };

// Parser callbacks shared by every connection: `this` is the parser, so no closure per connection or request.
const onHeaders: OnHeaders = function (this: HttpParser, headers, url) {
  (this as ParserWithConnection)[kConnection].partialHeaders(headers, url);
};
const onHeadersComplete: OnHeadersComplete = function (
  this: HttpParser,
  major,
  minor,
  headers,
  method,
  url,
  _s,
  _m,
  upgrade,
  keepAlive,
) {
  return (this as ParserWithConnection)[kConnection].headersComplete(
    major,
    minor,
    headers,
    method,
    url,
    upgrade,
    keepAlive,
  );
};
const onBody: OnBody = function (this: HttpParser, chunk) {
  (this as ParserWithConnection)[kConnection].body(chunk);
};
function onMessageComplete(this: HttpParser): void {
  (this as ParserWithConnection)[kConnection].messageComplete();
}

/** The parser's callbacks, shared by every connection (each finds its connection through the parser). */
const PARSER_CALLBACKS = { onHeaders, onHeadersComplete, onBody, onMessageComplete };

function onData(this: Socket & { [kConnection]: ClientConnection }, chunk: Buffer): void {
  this[kConnection].data(chunk);
}
function onEnd(this: Socket & { [kConnection]: ClientConnection }): void {
  this[kConnection].clientEnded();
}
function onClose(this: Socket & { [kConnection]: ClientConnection }): void {
  this[kConnection].closed();
}
function onFinish(this: Socket): void {
  // Our side has ended and flushed: release the socket even if the client never closes its side.
  this.destroy();
}
function ignoreError(): void {
  // ECONNRESET and friends: 'close' follows and does the cleanup.
}

const PARSE_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
};

/**
 * One client connection of the `net` data plane: llhttp parses what the
 * socket delivers, requests are answered strictly in order (a pipelined
 * request waits, with reading paused, until the one before it has been
 * answered, as nginx does), bodies stream with backpressure, and the
 * server's sweep enforces the header, request and keep-alive timeouts from
 * the timestamps kept here.
 */
export class ClientConnection {
  readonly remoteAddress: string;
  /** No further request is read; the connection ends after the current answers. */
  closing = false;
  /** performance.now() when the current request's head began arriving; 0 when not reading a head. */
  headStartedAt = 0;
  /** performance.now() when the request whose body is arriving was received; 0 when none. */
  requestStartedAt = 0;
  /** performance.now() when the connection last became idle. */
  idleSince: number;
  private readonly parser: HttpParser;
  /** Requests and canned replies in arrival order; the first is being answered. */
  private readonly queue: Entry[] = [];
  /** The request whose body the parser is delivering. */
  private receiving: NetClientRequest | null = null;
  private headerParts: string[] | null = null;
  private urlParts = '';
  private pausedForBody = false;
  private parsing = true;

  constructor(
    readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.idleSince = performance.now();
    const { llhttp } = host;
    const parser = createParser(llhttp, llhttp.REQUEST, host.maxHeaderBytes, PARSER_CALLBACKS) as ParserWithConnection;
    parser[kConnection] = this;
    this.parser = parser;
    const s = socket as Socket & { [kConnection]: ClientConnection };
    s[kConnection] = this;
    socket.setNoDelay(true);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('finish', onFinish);
    socket.on('error', ignoreError);
  }

  /** Idle: nothing being received or answered (shutdown closes these at once). */
  get idle(): boolean {
    return this.queue.length === 0 && this.receiving === null && this.headStartedAt === 0;
  }

  data(chunk: Buffer): void {
    if (!this.parsing) return;
    if (this.headStartedAt === 0 && this.receiving === null) this.headStartedAt = performance.now();
    const result = this.parser.execute(chunk);
    if (typeof result !== 'number') this.parseFailed(result);
  }

  partialHeaders(headers: string[], url: string): void {
    // After a head, these are a chunked body's trailers, which node's binding hands over with the
    // target again: dropped (as node:http drops them from forwarding), never the next request's head.
    if (this.receiving !== null) return;
    // llhttp hands over headers 32 pairs at a time when a head has more.
    if (this.headerParts === null) this.headerParts = headers;
    else for (const h of headers) this.headerParts.push(h);
    this.urlParts += url;
  }

  headersComplete(
    major: number,
    minor: number,
    headers: string[] | undefined,
    methodIndex: number,
    url: string | undefined,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    // Pipelined after a request that closes the connection (or after a refusal): never answered.
    if (this.closing) return 0;
    const now = performance.now();
    this.headStartedAt = 0;
    this.requestStartedAt = now;
    let raw = headers;
    let target = url;
    if (raw === undefined || this.headerParts !== null) {
      raw = this.headerParts === null ? (headers ?? []) : this.headerParts.concat(headers ?? []);
      target = this.urlParts + (url ?? '');
      this.headerParts = null;
      this.urlParts = '';
    }
    const method = this.host.llhttp.methods[methodIndex] ?? 'GET';
    const http10 = major === 1 && minor === 0;
    if (method === 'CONNECT') {
      this.refuse(new CannedReply(405, 'Method Not Allowed', 'METHOD_NOT_ALLOWED'));
      return 0;
    }
    // node:http's requireHostHeader: an HTTP/1.1 request must say which host it is for.
    if (!http10 && !hasHost(raw)) {
      this.refuse(new CannedReply(400, 'Bad Request', 'MISSING_HOST', method === 'HEAD'));
      return 0;
    }
    // An Upgrade is declined: served as plain HTTP, and llhttp stops at its end, so the connection closes after.
    const request = new NetClientRequest(this, method, target ?? '/', raw, http10, keepAlive && !upgrade);
    if (upgrade || !keepAlive) this.closing = true;
    this.receiving = request;
    this.enqueue(request);
    return 0;
  }

  body(chunk: Buffer): void {
    const request = this.receiving;
    if (request !== null && !request.pushBody(chunk) && !this.pausedForBody) {
      // The body stream is full: stop reading until undici asks for more.
      this.pausedForBody = true;
      this.socket.pause();
    }
  }

  messageComplete(): void {
    const request = this.receiving;
    this.receiving = null;
    this.headerParts = null;
    this.urlParts = '';
    this.requestStartedAt = 0;
    request?.endBody();
    if (this.closing) this.parsing = false;
    // The body is all in. If its last chunk filled the stream, the consumer may never ask for more (the
    // stream only ends): waiting for that would leave the socket paused and the next request unread. Found
    // with undici 8, whose body reads ask no more after the end; bytes from here on are the next head.
    if (this.pausedForBody) {
      this.pausedForBody = false;
      if (this.queue.length <= 1) this.socket.resume();
    }
  }

  /** The body stream wants more. */
  bodyWanted(): void {
    if (!this.pausedForBody) return;
    this.pausedForBody = false;
    if (this.queue.length <= 1) this.socket.resume();
  }

  /** The first request in the queue has sent its whole response. */
  responseEnded(request: NetClientRequest): void {
    if (this.queue[0] !== request) return;
    this.queue.shift();
    if (request === this.receiving) {
      // Answered before its body was all in (an early reply): the rest is read and dropped.
      request.discardBody();
      this.pausedForBody = false;
    }
    if (!request.keepsAlive || this.host.draining) this.closing = true;
    if (this.closing && (this.queue.length === 0 || !request.keepsAlive)) {
      this.finish();
      return;
    }
    if (this.queue.length > 0) this.startFirst();
    else this.idleSince = performance.now();
    // The next request (if any) may still be sending its body: read again.
    if (this.queue.length <= 1 && !this.pausedForBody) this.socket.resume();
  }

  /** The sweep found the head or the body too slow: 408 if nothing was answered yet, else a cut. */
  timedOut(): void {
    const first = this.queue[0];
    if (this.receiving !== null && first === this.receiving && !this.receiving.headersSent) {
      this.parsing = false;
      this.closing = true;
      if (!this.receiving.failBody(new RequestTimeoutError(this.host.requestTimeoutMs))) this.socket.destroy();
    } else if (first === undefined) {
      this.refuse(new CannedReply(408, 'Request Timeout', 'ERR_HTTP_REQUEST_TIMEOUT'));
    } else {
      this.socket.destroy();
    }
  }

  /** Shutdown's last resort, or an idle keep-alive connection past its timeout. */
  destroy(): void {
    this.socket.destroy();
  }

  clientEnded(): void {
    // The client closed its side. Like node:http (httpAllowHalfOpen off), that abandons whatever it
    // asked for: the upstream request is aborted rather than left to run for nobody.
    this.socket.destroy();
  }

  closed(): void {
    this.parsing = false;
    for (const entry of this.queue) if (entry instanceof NetClientRequest) entry.abandon();
    if (this.receiving !== null && !this.queue.includes(this.receiving)) this.receiving.abandon();
    this.queue.length = 0;
    this.receiving = null;
    this.parser.close();
    this.host.forget(this);
  }

  private enqueue(entry: Entry): void {
    this.queue.push(entry);
    if (this.queue.length === 1) this.startFirst();
    // A pipelined request waits: read nothing more until the ones before it are answered.
    else this.socket.pause();
  }

  private startFirst(): void {
    const first = this.queue[0];
    if (first instanceof CannedReply) {
      this.writeCanned(first);
      return;
    }
    if (first !== undefined) this.host.handle(first);
  }

  private parseFailed(err: ParseError): void {
    const [status, reason] = PARSE_STATUS[err.code] ?? [400, 'Bad Request'];
    const receiving = this.receiving;
    if (receiving !== null && this.queue[0] === receiving && receiving.headersSent === false) {
      // Bad framing inside a body already streaming upstream: its Exchange answers the 400 and closes.
      this.parsing = false;
      this.closing = true;
      this.receiving = null;
      if (!receiving.failBody(new MalformedRequestError(err))) this.socket.destroy();
      return;
    }
    if (receiving !== null && this.queue[0] === receiving) {
      // The status is already on its way: cutting the connection is the only signal left.
      this.socket.destroy();
      return;
    }
    this.refuse(new CannedReply(status, reason, err.code));
  }

  /** Answers with `reply` once the requests before it are answered, then closes; reads nothing more. */
  private refuse(reply: CannedReply): void {
    this.parsing = false;
    this.closing = true;
    if (this.receiving !== null) {
      // A request queued behind others whose body was cut short: it never gets an Exchange.
      const index = this.queue.indexOf(this.receiving);
      if (index > 0) this.queue.splice(index, 1);
      this.receiving = null;
    }
    this.enqueue(reply);
  }

  private writeCanned(reply: CannedReply): void {
    const body = JSON.stringify({ message: reply.reason, status: 'failure', code: reply.code });
    this.socket.end(
      `HTTP/1.1 ${reply.status} ${reply.reason}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${reply.toHead ? '' : body}`,
    );
    this.queue.length = 0;
  }

  private finish(): void {
    this.parsing = false;
    this.socket.end();
  }
}

function hasHost(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && equalsLower(name, 'host')) return true;
  }
  return false;
}
