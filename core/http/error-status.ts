import type { ErrorCode } from '../errors/domain-error.js';

/** The one map from error code to HTTP status, used by every HTTP edge (proxy, admin API, server). */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  NOT_PRIMARY: 409,
  DUPLICATE_ID: 409,
  ALREADY_INITIALIZED: 409,
  NOT_INITIALIZED: 409,
  BUDGET_EXCEEDED: 409,
  GONE: 410,
  BODY_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  INTERNAL: 500,
  UPSTREAM_FAILED: 502,
  NO_HEALTHY_SERVER: 503,
  UNAVAILABLE: 503,
  UPSTREAM_TIMEOUT: 504,
  TIMEOUT: 504,
};

export function statusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}
