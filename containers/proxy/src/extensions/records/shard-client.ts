import { DomainError } from '#core/errors/domain-error.js';
import { readLimited } from '#core/http/read-body.js';
import type { Fleet } from '../../fleet/fleet.js';
import { errorCode, wasNeverSent } from '../../forwarding/errors.js';

/** A shard call that takes longer than this has failed. */
const SHARD_CALL_TIMEOUT_MS = 10_000;
/** Largest reply read from a server (a read of a whole shard can be large). */
const MAX_SHARD_REPLY_BYTES = 64 * 1024 * 1024;

export interface ShardReply {
  readonly status: number;
  readonly body: { status?: string; message?: string; code?: string; rows?: unknown[]; written?: number };
}

/** A server could not be reached or did not answer: the request may or may not have run there. */
export class ServerUnreachableError extends DomainError {
  override readonly name = 'ServerUnreachableError';
  constructor(
    readonly serverId: string,
    /** True when the request cannot have reached the server, so sending it elsewhere is safe. */
    readonly neverSent: boolean,
    cause: unknown,
  ) {
    super('UPSTREAM_FAILED', undefined, `server ${serverId} did not answer: ${errorCode(cause) ?? String(cause)}`, {
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
    const text = (await readLimited(res.body, MAX_SHARD_REPLY_BYTES, { destroyOnOverflow: true })).toString('utf8');
    return { status: res.statusCode, body: text ? JSON.parse(text) : {} };
  } catch (err) {
    throw new ServerUnreachableError(serverId, wasNeverSent(err), err);
  }
}
