import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../errors/domain-error.js';
import { statusOf } from './error-status.js';
import { readLimited } from './read-body.js';

/** Admin bodies are small JSON documents. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export async function readJsonBody(req: IncomingMessage, limit = MAX_ADMIN_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? -1);
  if (declared > limit) throw new DomainError('BODY_TOO_LARGE', 'body', `larger than ${limit} bytes`);
  return parseJsonBody(await readLimited(req, limit), limit);
}

/** A whole request body already read, as JSON: refused naming `body` when larger than `limit`, empty or not JSON. */
export function parseJsonBody(body: Buffer, limit = MAX_ADMIN_BODY_BYTES): unknown {
  if (body.length > limit) throw new DomainError('BODY_TOO_LARGE', 'body', `larger than ${limit} bytes`);
  const text = body.toString('utf8');
  if (text.trim() === '') throw new DomainError('INVALID_INPUT', 'body', 'expected a JSON object, got an empty body');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new DomainError('INVALID_INPUT', 'body', `not valid JSON (${(cause as Error).message})`, { cause });
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The one JSON shape every edge answers errors with: the seed's balancers'
 * `{"message": …, "status": "failure"}` plus the machine-readable code, the
 * field when one is at fault, and the request id when the proxy assigned one.
 */
export function errorJson(err: DomainError, requestId?: string): string {
  return JSON.stringify({
    message: err.message,
    status: 'failure',
    code: err.code,
    ...(err.field ? { field: err.field } : {}),
    ...(requestId ? { requestId } : {}),
  });
}

export function sendError(res: ServerResponse, err: DomainError): void {
  const body = errorJson(err);
  res.writeHead(statusOf(err.code), { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Constant-time bearer check. Both sides are hashed first so the comparison
 * takes the same time whatever the presented token's length.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const presented = createHash('sha256').update(header.slice(7)).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(presented, expected);
}
