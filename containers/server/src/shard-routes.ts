import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RecordsStore } from '#core/aws/records-store.js';
import { fromZodError, HttpError } from '#core/http/http-error.js';
import { readJsonBody, sendFailure, sendJson } from '#core/http/json.js';
import { MAX_ROWS_PER_SHARD_WRITE, MAX_STUD_ID, type Row } from '#core/records/schema.js';
import type { ShardReadCache } from './shard-read-cache.js';

/** Shard bodies: up to 98 rows of up to 64 columns of 4 KiB strings, with room to spare. */
const MAX_SHARD_BODY_BYTES = 4 * 1024 * 1024;
const SHARD_PATH = /^\/shards\/([A-Za-z0-9_-]{1,64})\/(write|read|records\/(\d{1,16}))$/;

const studId = z.number().int().min(0).max(MAX_STUD_ID);
const writeBody = z.object({
  rows: z
    .array(z.record(z.string(), z.union([z.number(), z.string()])))
    .min(1)
    .max(MAX_ROWS_PER_SHARD_WRITE),
});
const readBody = z.object({ low: studId, high: studId });
const updateBody = z.object({ data: z.record(z.string(), z.union([z.number(), z.string()])) });

/**
 * The work a server does for its shards: the proxy sends a shard's writes to
 * its primary and its reads to one of its replicas. The rows live in
 * DynamoDB; the store's transactions fence off a server that is no longer
 * the primary. Row contents were validated against the schema by the proxy.
 */
export function isShardRoute(path: string): boolean {
  return path.startsWith('/shards/');
}

export async function handleShardRoute(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  serverId: string,
  store: RecordsStore | undefined,
  cache: ShardReadCache | undefined,
  log: Logger,
): Promise<void> {
  try {
    if (!store) throw new HttpError(503, undefined, 'this server has no records tables configured');
    const match = SHARD_PATH.exec(path);
    if (!match) throw new HttpError(404, undefined, `no shard route ${path}`);
    const shardId = match[1] as string;
    const action = match[2] as string;
    if (action === 'write' && req.method === 'POST') {
      const body = parse(writeBody, await readJsonBody(req, MAX_SHARD_BODY_BYTES));
      await store.insert(shardId, serverId, body.rows as Row[]);
      return sendJson(res, 200, { status: 'success', written: body.rows.length });
    }
    if (action === 'read' && req.method === 'POST') {
      const body = parse(readBody, await readJsonBody(req));
      const rows = cache
        ? await cache.read(shardId, body.low, body.high)
        : await store.readRange(shardId, body.low, body.high);
      return sendJson(res, 200, { status: 'success', rows });
    }
    const id = Number(match[3]);
    if (match[3] !== undefined && req.method === 'PUT') {
      const body = parse(updateBody, await readJsonBody(req));
      await store.update(shardId, serverId, id, body.data as Row);
      return sendJson(res, 200, { status: 'success' });
    }
    if (match[3] !== undefined && req.method === 'DELETE') {
      await store.remove(shardId, serverId, id);
      return sendJson(res, 200, { status: 'success' });
    }
    throw new HttpError(405, undefined, `method ${req.method} not allowed on ${path}`);
  } catch (err) {
    const failure =
      err instanceof HttpError ? err : new HttpError(500, undefined, 'shard operation failed', { cause: err });
    if (failure.status >= 500) log.error({ err, path }, 'shard operation failed');
    if (res.headersSent) res.destroy();
    else sendFailure(res, failure, (err as { code?: string }).code);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw fromZodError(result.error);
  return result.data;
}
