/**
 * Typed proxy errors and the one place that maps them to HTTP statuses.
 * Bodies are JSON in the assignments' shape: {"message": …, "status": "failure"}.
 */
export class ProxyError extends Error {
  override readonly name: string = 'ProxyError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class NoHealthyServerError extends ProxyError {
  override readonly name = 'NoHealthyServerError';
  constructor() {
    super(503, 'NO_HEALTHY_SERVER', 'no healthy server is available');
  }
}

export class BodyTooLargeError extends ProxyError {
  override readonly name = 'BodyTooLargeError';
  constructor(limit: number) {
    super(413, 'BODY_TOO_LARGE', `request body exceeds the ${limit}-byte limit`);
  }
}

export class UpstreamTimeoutError extends ProxyError {
  override readonly name = 'UpstreamTimeoutError';
  constructor(server: string, cause: unknown) {
    super(504, 'UPSTREAM_TIMEOUT', `server ${server} did not answer in time`, { cause });
  }
}

export class UpstreamFailedError extends ProxyError {
  override readonly name = 'UpstreamFailedError';
  constructor(server: string, cause: unknown) {
    super(502, 'UPSTREAM_FAILED', `server ${server} failed: ${describe(cause)}`, { cause });
  }
}

/** The client went away; nothing is sent, the upstream request is aborted. */
export class ClientAbortedError extends Error {
  override readonly name = 'ClientAbortedError';
}

function describe(cause: unknown): string {
  if (cause && typeof cause === 'object') {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return cause instanceof Error ? cause.message : String(cause);
}

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
  const code = errorCode(err);
  return code !== undefined && TIMEOUT_CODES.has(code);
}

export function wasNeverSent(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && NOT_SENT_CODES.has(code);
}

/** The error to show a client for an upstream failure. */
export function toClientError(server: string, err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  return isTimeout(err) ? new UpstreamTimeoutError(server, err) : new UpstreamFailedError(server, err);
}

/** JSON body for an error reply. */
export function errorBody(err: ProxyError, requestId: string): string {
  return JSON.stringify({ message: err.message, status: 'failure', code: err.code, requestId });
}
