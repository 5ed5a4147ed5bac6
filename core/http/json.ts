import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http-error.js';

/** Admin bodies are small JSON documents. */
export const MAX_ADMIN_BODY_BYTES = 64 * 1024;

export async function readJsonBody(req: IncomingMessage, limit = MAX_ADMIN_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? -1);
  if (declared > limit) throw new HttpError(413, 'body', `larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'body', `larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'body', 'expected a JSON object, got an empty body');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new HttpError(400, 'body', `not valid JSON (${(cause as Error).message})`, { cause });
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A failure in the assignments' shape, with the field and, where one applies, a machine-readable code. */
export function sendFailure(res: ServerResponse, err: HttpError, code?: string): void {
  sendJson(res, err.status, {
    message: err.message,
    status: 'failure',
    ...(err.field ? { field: err.field } : {}),
    ...(code ? { code } : {}),
  });
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
