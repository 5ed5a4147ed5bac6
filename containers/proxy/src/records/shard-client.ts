import { HttpError } from '#core/http/http-error.js';
import type { Fleet } from '../fleet/fleet.js';

/** A shard call that takes longer than this has failed. */
const SHARD_CALL_TIMEOUT_MS = 10_000;
/** Largest reply read from a server (a read of a whole shard can be large). */
const MAX_SHARD_REPLY_BYTES = 64 * 1024 * 1024;

export interface ShardReply {
  readonly status: number;
  readonly body: { status?: string; message?: string; code?: string; rows?: unknown[]; written?: number };
}

/** A server could not be reached or did not answer: the request may or may not have run there. */
export class ServerUnreachableError extends HttpError {
  override readonly name = 'ServerUnreachableError';
  constructor(
    readonly serverId: string,
    readonly neverSent: boolean,
    cause: unknown,
  ) {
    super(502, undefined, `server ${serverId} did not answer: ${(cause as { code?: string }).code ?? String(cause)}`, {
      cause,
    });
  }
}

/** Calls one server's shard route over the proxy's own keep-alive pool to it. */
export async function callServer(
  fleet: Fleet,
  serverId: string,
  method: 'POST' | 'PUT' | 'DELETE',
  path: string,
  body: unknown,
): Promise<ShardReply> {
  const backend = fleet.get(serverId);
  if (!backend) throw new ServerUnreachableError(serverId, true, new Error('not a live member'));
  try {
    const res = await backend.pool.request({
      method,
      path,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(SHARD_CALL_TIMEOUT_MS),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_SHARD_REPLY_BYTES) throw new Error(`reply over ${MAX_SHARD_REPLY_BYTES} bytes`);
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return { status: res.statusCode, body: text ? JSON.parse(text) : {} };
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new ServerUnreachableError(serverId, code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT', err);
  }
}
