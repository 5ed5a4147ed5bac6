import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { RecordsStore } from '#core/aws/records-store.js';
import { DomainError } from '#core/errors/domain-error.js';
import { parseOrThrow } from '#core/errors/zod-error.js';
import { readJsonBody, sendJson } from '#core/http/json.js';
import { type JsonRoute, serveJson } from '#core/http/json-routes.js';
import { MAX_RECORD_ID, MAX_ROWS_PER_SHARD_WRITE, type Row } from '#core/records/schema.js';
import type { ShardReadCache } from './shard-read-cache.js';

/** Shard bodies: up to 98 rows of up to 64 columns of 4 KiB strings, with room to spare. */
const MAX_SHARD_BODY_BYTES = 4 * 1024 * 1024;
const SHARD_PATH = /^\/shards\/([A-Za-z0-9_-]{1,64})\/(write|read|records\/(\d{1,16}))$/;

const recordId = z.number().int().min(0).max(MAX_RECORD_ID);
const writeBody = z.object({
  rows: z
    .array(z.record(z.string(), z.union([z.number(), z.string()])))
    .min(1)
    .max(MAX_ROWS_PER_SHARD_WRITE),
});
const readBody = z.object({ low: recordId, high: recordId });
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

/** The shard routes as one handler; errors are answered in the shared shape by `serveJson`. */
export function shardRoutes(
  serverId: string,
  store: RecordsStore | undefined,
  cache: ShardReadCache | undefined,
  log: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  const route: JsonRoute = async (req, res) => {
    if (!store) throw new DomainError('UNAVAILABLE', undefined, 'this server has no records tables configured');
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    const match = SHARD_PATH.exec(path);
    if (!match) throw new DomainError('NOT_FOUND', undefined, `no shard route ${path}`);
    const shardId = match[1] as string;
    const action = match[2] as string;
    if (action === 'write' && req.method === 'POST') {
      const body = parseOrThrow(writeBody, await readJsonBody(req, MAX_SHARD_BODY_BYTES));
      await store.insert(shardId, serverId, body.rows as Row[]);
      return sendJson(res, 200, { status: 'success', written: body.rows.length });
    }
    if (action === 'read' && req.method === 'POST') {
      const body = parseOrThrow(readBody, await readJsonBody(req));
      const rows = cache
        ? await cache.read(shardId, body.low, body.high)
        : await store.readRange(shardId, body.low, body.high);
      return sendJson(res, 200, { status: 'success', rows });
    }
    const id = Number(match[3]);
    if (match[3] !== undefined && req.method === 'PUT') {
      const body = parseOrThrow(updateBody, await readJsonBody(req));
      await store.update(shardId, serverId, id, body.data as Row);
      return sendJson(res, 200, { status: 'success' });
    }
    if (match[3] !== undefined && req.method === 'DELETE') {
      await store.remove(shardId, serverId, id);
      return sendJson(res, 200, { status: 'success' });
    }
    throw new DomainError('METHOD_NOT_ALLOWED', undefined, `method ${req.method} not allowed on ${path}`);
  };
  return serveJson(route, log, 'shard operation');
}
