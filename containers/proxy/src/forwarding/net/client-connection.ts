import type { Socket } from 'node:net';
import type { ClientTunnelEnd } from '../client-side.js';
import { nowMs } from '../clock.js';
import { MalformedRequestError, RequestTimeoutError } from '../errors.js';
import { Http1Connection } from '../http1/connection.js';
import { closingReply } from '../http1/framing.js';
import type { LlhttpBinding, ParseError } from '../http1/llhttp.js';
import { equalsLower } from '../request-head.js';
import { tunnelUpgrade } from '../tunnel/upgrade-request.js';
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

function onFinish(this: Socket): void {
  // Our side has ended and flushed: release the socket even if the client never closes its side.
  this.destroy();
}

const NO_BYTES = Buffer.alloc(0);

const PARSE_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
};

/**
 * One client connection of the `net` data plane: llhttp parses what the
 * socket delivers, requests are answered strictly in order (a pipelined
 * request waits, with reading paused, until the one before it has been
 * answered, as nginx does), bodies stream with backpressure, and the
 * server's sweep enforces the header, request and keep-alive timeouts from
 * the timestamps kept here. This is the server side of the HTTP/1 codec
 * (`forwarding/http1/`); the upstream client is its client side.
 */
export class ClientConnection extends Http1Connection {
  readonly remoteAddress: string;
  /** No further request is read; the connection ends after the current answers. */
  closing = false;
  /** performance.now() when the current request's head began arriving; 0 when not reading a head. */
  headStartedAt = 0;
  /** performance.now() when the request whose body is arriving was received; 0 when none. */
  requestStartedAt = 0;
  /** performance.now() when the connection last became idle. */
  idleSince: number;
  /** Requests and canned replies in arrival order; the first is being answered. */
  private readonly queue: Entry[] = [];
  /** The request whose body the parser is delivering. */
  private receiving: NetClientRequest | null = null;
  private pausedForBody = false;
  private parsing = true;
  /** The request that may open a tunnel: what the client sends after its head is kept for the tunnel. */
  private tunnelling: NetClientRequest | null = null;
  private tunnelBytes: Buffer[] | null = null;

  constructor(
    socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    super(socket, host.llhttp, host.llhttp.REQUEST, host.maxHeaderBytes);
    this.remoteAddress = socket.remoteAddress ?? '';
    this.idleSince = nowMs();
    socket.setNoDelay(true);
    socket.on('finish', onFinish);
  }

  protected get readingBody(): boolean {
    return this.receiving !== null;
  }

  /** Idle: nothing being received or answered (shutdown closes these at once). */
  get idle(): boolean {
    return this.queue.length === 0 && this.receiving === null && this.headStartedAt === 0;
  }

  data(chunk: Buffer): void {
    if (!this.parsing) {
      if (this.tunnelling !== null) this.keepTunnelBytes(chunk);
      return;
    }
    if (this.headStartedAt === 0 && this.receiving === null) this.headStartedAt = nowMs();
    const result = this.parser.execute(chunk);
    if (typeof result !== 'number') this.parseFailed(result);
    // llhttp stops after an upgrade request's head: the rest of the read is the new protocol's (or nobody's).
    else if (this.tunnelling !== null && result < chunk.length) this.keepTunnelBytes(chunk.subarray(result));
  }

  /**
   * Holds bytes the client sent after a tunnel request's head, reading no
   * more until the server has answered: they go through the tunnel after a
   * 101, and nowhere otherwise (a server that refused the upgrade would read
   * them as another request, past every check the proxy makes).
   */
  private keepTunnelBytes(bytes: Buffer): void {
    if (this.tunnelBytes === null) this.tunnelBytes = [bytes];
    else this.tunnelBytes.push(bytes);
    this.socket.pause();
  }

  /** The server switched protocols for `request`: the socket leaves HTTP for the tunnel. */
  detachForTunnel(request: NetClientRequest): ClientTunnelEnd {
    if (this.tunnelling !== request || this.queue[0] !== request) {
      throw new Error('only the tunnel request being answered can take the connection');
    }
    const bytes = this.tunnelBytes;
    this.tunnelBytes = null;
    this.tunnelling = null;
    this.queue.length = 0;
    this.receiving = null;
    this.parsing = false;
    this.socket.removeListener('finish', onFinish);
    this.detachSocket();
    this.host.forget(this);
    const head = bytes === null ? NO_BYTES : bytes.length === 1 ? (bytes[0] as Buffer) : Buffer.concat(bytes);
    return { socket: this.socket, head };
  }

  headersComplete(
    major: number,
    minor: number,
    headers: string[] | undefined,
    methodIndex: number,
    url: string | undefined,
    _statusCode: number,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    // Pipelined after a request that closes the connection (or after a refusal): never answered.
    if (this.closing) return 0;
    const now = nowMs();
    this.headStartedAt = 0;
    this.requestStartedAt = now;
    const raw = this.takeHeaders(headers);
    const target = this.takeUrl(url);
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
    // An upgrade request opens a tunnel if tunnelUpgrade allows it; any other is served as plain HTTP. Either
    // way llhttp stops at its end, so nothing after it is read as HTTP and the connection closes after.
    const tunnel = upgrade ? tunnelUpgrade(method, raw) : null;
    const request = new NetClientRequest(this, method, target ?? '/', raw, http10, keepAlive && !upgrade, tunnel);
    if (upgrade || !keepAlive) this.closing = true;
    if (tunnel !== null) this.tunnelling = request;
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
    this.resetHead();
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

  /** Whether the connection ends with `request`'s answer: it is closing, and nothing is queued after it. */
  closesAfter(request: NetClientRequest): boolean {
    return this.closing && this.queue[this.queue.length - 1] === request;
  }

  /** The first request in the queue has sent its whole response. */
  responseEnded(request: NetClientRequest): void {
    if (this.queue[0] !== request) return;
    // pop() when it is the only one: shift() is a call into the runtime even on a one-element array.
    if (this.queue.length === 1) this.queue.pop();
    else this.queue.shift();
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
    else this.idleSince = nowMs();
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

  ended(): void {
    // The client closed its side. Like node:http (httpAllowHalfOpen off), that abandons whatever it
    // asked for: the upstream request is aborted rather than left to run for nobody.
    this.socket.destroy();
  }

  socketError(): void {
    // ECONNRESET and friends: 'close' follows and does the cleanup.
  }

  closed(): void {
    this.parsing = false;
    for (const entry of this.queue) if (entry instanceof NetClientRequest) entry.abandon();
    if (this.receiving !== null && !this.queue.includes(this.receiving)) this.receiving.abandon();
    this.queue.length = 0;
    this.receiving = null;
    this.tunnelling = null;
    this.tunnelBytes = null;
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
    this.socket.end(closingReply(reply.status, reply.reason, reply.code, reply.toHead));
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
