/**
 * Why a request or an operation was refused, as a code rather than an HTTP
 * status: core is shared by the proxy, the server, the Lambda and the CDK app,
 * and only the HTTP edges know about statuses (core/http/error-status.ts maps
 * each code to one).
 */
export const ERROR_CODES = [
  /** The input is malformed or breaks a rule; `field` names what. */
  'INVALID_INPUT',
  'UNAUTHORIZED',
  /** Refused whoever asks: e.g. a request a browser was tricked into sending (see loopback-guard.ts). */
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  /** The request clashes with the current state (a name in use, no scaler, a full registry). */
  'CONFLICT',
  /** A server that is no longer a shard's primary tried to write: it was fenced off. */
  'NOT_PRIMARY',
  'DUPLICATE_ID',
  'ALREADY_INITIALIZED',
  'NOT_INITIALIZED',
  /** Capacity asked for by hand (/add) that the budget cannot pay, or beyond maxCount. */
  'BUDGET_EXCEEDED',
  /** The thing existed and was removed on purpose (a server taken out with /rm). */
  'GONE',
  'BODY_TOO_LARGE',
  /** Too many request header fields (their total size is refused by the HTTP parser itself). */
  'HEADERS_TOO_LARGE',
  /** The client did not send its request in time. */
  'REQUEST_TIMEOUT',
  /** A server failed or could not be reached. */
  'UPSTREAM_FAILED',
  'UPSTREAM_TIMEOUT',
  'NO_HEALTHY_SERVER',
  /** Something the request needs is missing or down for now; trying later may work. */
  'UNAVAILABLE',
  /** The work was started but did not finish in time. */
  'TIMEOUT',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

/** A refusal with its code, the offending field (when there is one) and why, e.g. `data[2].Stud_id: missing`. */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    readonly field: string | undefined,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(field ? `${field}: ${reason}` : reason, options);
  }
}

/** Anything thrown, as a DomainError: unknown errors become INTERNAL with the original as cause. */
export function asDomainError(err: unknown): DomainError {
  return err instanceof DomainError ? err : new DomainError('INTERNAL', undefined, 'internal error', { cause: err });
}
