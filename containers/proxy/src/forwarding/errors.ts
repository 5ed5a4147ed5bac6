import { DomainError } from '#core/errors/domain-error.js';
import { statusOf } from '#core/http/error-status.js';

/**
 * Errors the proxy answers a forwarded request with, and how upstream
 * failures are classified. Statuses come from the shared code table
 * (core/http/error-status.ts); bodies from the shared JSON shape.
 */
export class ProxyError extends DomainError {
  override readonly name: string = 'ProxyError';
  /** The HTTP status this edge answers with (from the shared code table). */
  readonly status = statusOf(this.code);
}

export class NoHealthyServerError extends ProxyError {
  override readonly name = 'NoHealthyServerError';
  constructor() {
    super('NO_HEALTHY_SERVER', undefined, 'no healthy server is available');
  }
}

/**
 * A tunnel the proxy cannot open now: MAX_TUNNELS are open, or the proxy is
 * shutting down. Answered 503 with Retry-After, so a WebSocket client backs
 * off and (behind the load balancer) lands on another proxy.
 */
export class TunnelUnavailableError extends ProxyError {
  override readonly name = 'TunnelUnavailableError';
  /** Seconds the client should wait before trying again. */
  readonly retryAfterSeconds = 1;
  constructor(reason: 'full' | 'draining', limit = 0) {
    super(
      'UNAVAILABLE',
      'upgrade',
      reason === 'full'
        ? `this proxy has its maximum of ${limit} tunnels open; try again shortly`
        : 'this proxy is shutting down and opens no new tunnels; try again',
    );
  }
}

/**
 * The client's request is at fault (too large, malformed, too slow): answered
 * with the error's status and a closed connection, never retried, never held
 * against the server.
 */
export class ClientRequestError extends ProxyError {}

export class BodyTooLargeError extends ClientRequestError {
  override readonly name = 'BodyTooLargeError';
  constructor(limit: number) {
    super('BODY_TOO_LARGE', undefined, `request body exceeds the ${limit}-byte limit`);
  }
}

export class TooManyHeadersError extends ClientRequestError {
  override readonly name = 'TooManyHeadersError';
  constructor(limit: number) {
    super('HEADERS_TOO_LARGE', undefined, `the request has more than ${limit} header fields`);
  }
}

/**
 * The client's Connection header lists a field that frames or routes the
 * message (Content-Length, Transfer-Encoding, Host). Such a message declares
 * its own framing hop-by-hop, which contradicts itself (RFC 9110 §7.6.1 forbids
 * it) and is the signature of a request-smuggling attempt: refused, never
 * forwarded. `field` is `connection`; the message names the listed field.
 */
export class ConnectionOptionError extends ClientRequestError {
  override readonly name = 'ConnectionOptionError';
  constructor(listed: string) {
    super(
      'INVALID_INPUT',
      'connection',
      `lists ${listed}, which frames or routes the message and cannot be a connection option`,
    );
  }
}

/** An HTTP/1.1 request without Host, or with more than one (RFC 9112 §3.2: a server MUST answer either 400). */
export class HostError extends ClientRequestError {
  override readonly name = 'HostError';
  constructor(reason: 'missing' | 'repeated') {
    super(
      'INVALID_INPUT',
      'host',
      reason === 'missing' ? 'an HTTP/1.1 request must have a Host header' : 'appears more than once',
    );
  }
}

/** The request body broke HTTP/1.1 framing (bad chunk size or extension); `cause` is the parser's error. */
export class MalformedRequestError extends ClientRequestError {
  override readonly name = 'MalformedRequestError';
  constructor(cause: unknown) {
    super('INVALID_INPUT', undefined, 'malformed HTTP request', { cause });
  }
}

/** The client did not finish sending its request within the request timeout. */
export class RequestTimeoutError extends ClientRequestError {
  override readonly name = 'RequestTimeoutError';
  constructor(timeoutMs: number) {
    super('REQUEST_TIMEOUT', undefined, `the request was not received within ${timeoutMs} ms`);
  }
}

export class UpstreamTimeoutError extends ProxyError {
  override readonly name = 'UpstreamTimeoutError';
  constructor(server: string, cause: unknown) {
    super('UPSTREAM_TIMEOUT', undefined, `server ${server} did not answer in time`, { cause });
  }
}

export class UpstreamFailedError extends ProxyError {
  override readonly name = 'UpstreamFailedError';
  constructor(server: string, cause: unknown) {
    super('UPSTREAM_FAILED', undefined, `server ${server} failed: ${describe(cause)}`, { cause });
  }
}

/** The client went away; nothing is sent, the upstream request is aborted. */
export class ClientAbortedError extends Error {
  override readonly name = 'ClientAbortedError';
}

/**
 * A failure of the llhttp upstream client (forwarding/upstream/). The client
 * knows at the moment of failure whether any byte of the request reached a
 * socket, so it says so (`neverSent`) rather than leaving it to be guessed
 * from a code; `timeout` picks 504 over 502.
 */
export class UpstreamError extends Error {
  override readonly name: string = 'UpstreamError';
  constructor(
    message: string,
    readonly code: string,
    /** No byte of the request was written to any socket: safe to send again, whatever the method. */
    readonly neverSent: boolean,
    readonly timeout: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The TCP connection could not be opened; `code` is the system's (ECONNREFUSED, EHOSTUNREACH, …). */
export class UpstreamConnectError extends UpstreamError {
  override readonly name = 'UpstreamConnectError';
  constructor(address: string, cause: unknown) {
    const code = errorCode(cause) ?? 'UPSTREAM_CONNECT_FAILED';
    super(`connect ${code} ${address}`, code, true, false, { cause });
  }
}

export class UpstreamConnectTimeoutError extends UpstreamError {
  override readonly name = 'UpstreamConnectTimeoutError';
  constructor(address: string, timeoutMs: number) {
    super(`connect to ${address} took over ${timeoutMs} ms`, 'UPSTREAM_CONNECT_TIMEOUT', true, true);
  }
}

export class UpstreamHeadersTimeoutError extends UpstreamError {
  override readonly name = 'UpstreamHeadersTimeoutError';
  constructor(timeoutMs: number) {
    super(`no response head within ${timeoutMs} ms`, 'UPSTREAM_HEADERS_TIMEOUT', false, true);
  }
}

export class UpstreamBodyTimeoutError extends UpstreamError {
  override readonly name = 'UpstreamBodyTimeoutError';
  constructor(timeoutMs: number) {
    super(`response body idle for over ${timeoutMs} ms`, 'UPSTREAM_BODY_TIMEOUT', false, true);
  }
}

/** The backend's pool was closed (it left the fleet) before the request got a socket. */
export class UpstreamClosedError extends UpstreamError {
  override readonly name = 'UpstreamClosedError';
  constructor() {
    super('the connection pool is closed', 'UPSTREAM_CLOSED', true, false);
  }
}

/**
 * The connection closed, reset or failed to write after the request was
 * (at least partly) written and before its response ended. Like undici's
 * UND_ERR_SOCKET this is never called "never sent", even on a reused
 * keep-alive socket: the server may have read the request.
 */
export class UpstreamSocketError extends UpstreamError {
  override readonly name = 'UpstreamSocketError';
  constructor(what: string, cause?: unknown) {
    super(cause === undefined ? what : `${what}: ${describe(cause)}`, 'UPSTREAM_SOCKET', false, false, { cause });
  }
}

/** The response broke HTTP/1.1 (llhttp's HPE_* error is the cause). */
export class UpstreamProtocolError extends UpstreamError {
  override readonly name = 'UpstreamProtocolError';
  constructor(cause: unknown) {
    super(`malformed response: ${describe(cause)}`, 'UPSTREAM_BAD_RESPONSE', false, false, { cause });
  }
}

function describe(cause: unknown): string {
  const code = errorCode(cause);
  if (code !== undefined) return code;
  return cause instanceof Error ? cause.message : String(cause);
}

/** undici's codes (UPSTREAM_CLIENT=undici, and errors from the records API's and health checks' pools). */
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * Failures where the request cannot have reached the server's handler: safe
 * to send again, whatever the method.
 */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // The backend's pool was closed (it left the fleet) before this request was queued on it.
  'UND_ERR_CLOSED',
]);

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isTimeout(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.timeout;
  const code = errorCode(err);
  return code !== undefined && TIMEOUT_CODES.has(code);
}

export function wasNeverSent(err: unknown): boolean {
  if (err instanceof UpstreamError) return err.neverSent;
  const code = errorCode(err);
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/** The error to show a client for an upstream failure. */
export function toClientError(server: string, err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  return isTimeout(err) ? new UpstreamTimeoutError(server, err) : new UpstreamFailedError(server, err);
}
