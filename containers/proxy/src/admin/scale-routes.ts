import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '#core/errors/domain-error.js';
import { parseOrThrow } from '#core/errors/zod-error.js';
import { readJsonBody, sendJson } from '#core/http/json.js';
import { expectMethod } from '#core/http/json-routes.js';
import type { ShardScaling } from '../records/shard-scaling.js';
import type { FleetActions } from './fleet-actions.js';
import { isShardScaleBody, scaleRequest, shardAddRequest, shardRemoveRequest } from './schemas.js';

/** The routes here, served on the admin port and, in the compatibility mode, on the data port too. */
export const SCALE_ROUTES = new Set(['/rep', '/add', '/rm']);

export interface ScaleRouteDeps {
  readonly actions: FleetActions;
  /** The second assignment's /add and /rm (servers with shards); undefined without the records API. */
  readonly shards: ShardScaling | undefined;
}

/**
 * /rep, /add and /rm in the student balancers' shapes. /add and /rm take the
 * first assignment's `{"n", "hostnames"}` (servers only) or the second's
 * `{"n", "new_shards", "servers"}` / `{"n", "servers"}` (servers and the
 * shard layout together); the body's fields say which.
 */
export async function serveScaleRoute(
  deps: ScaleRouteDeps,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  switch (path) {
    case '/rep':
      expectMethod(req, 'GET');
      return sendJson(res, 200, { message: deps.actions.replicas(), status: 'successful' });
    case '/add': {
      expectMethod(req, 'POST');
      const body = await readJsonBody(req);
      if (isShardScaleBody(body))
        return sendJson(res, 200, await requireShards(deps).add(parseOrThrow(shardAddRequest, body)));
      const request = parseOrThrow(scaleRequest, body);
      return sendJson(res, 200, { message: await deps.actions.add(request), status: 'successful' });
    }
    case '/rm': {
      expectMethod(req, 'DELETE');
      const body = await readJsonBody(req);
      if (isShardScaleBody(body)) {
        return sendJson(res, 200, await requireShards(deps).remove(parseOrThrow(shardRemoveRequest, body)));
      }
      const request = parseOrThrow(scaleRequest, body);
      return sendJson(res, 200, { message: await deps.actions.remove(request), status: 'successful' });
    }
    default:
      throw new DomainError('NOT_FOUND', undefined, `no route ${req.method} ${path}`);
  }
}

function requireShards(deps: ScaleRouteDeps): ShardScaling {
  if (!deps.shards) {
    throw new DomainError(
      'INVALID_INPUT',
      'servers',
      'placing shards needs the records API (SHARD_TABLE); without it /add and /rm take {"n", "hostnames"}',
    );
  }
  return deps.shards;
}
