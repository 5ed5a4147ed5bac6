import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '#core/errors/domain-error.js';
import { parseOrThrow } from '#core/errors/zod-error.js';
import { readJsonBody, sendJson } from '#core/http/json.js';
import { expectMethod } from '#core/http/json-routes.js';
import type { FleetActions } from './fleet-actions.js';
import { isShardScaleBody, scaleRequest } from './schemas.js';

/** The routes here, served on the admin port and, in the compatibility mode, on the data port too. */
export const SCALE_ROUTES = new Set(['/rep', '/add', '/rm']);

/**
 * /add and /rm bodies that place shards as well as servers (they name `servers` or `new_shards`): what
 * the records extension lends the admin API. It validates the body itself.
 */
export interface ShardScaleRoutes {
  add(body: unknown): Promise<unknown>;
  remove(body: unknown): Promise<unknown>;
}

export interface ScaleRouteDeps {
  readonly actions: FleetActions;
  /** The seed's shard-placing /add and /rm (servers with shards); undefined without the records API. */
  readonly shards: ShardScaleRoutes | undefined;
}

/** The request as the scale routes need it, whichever server carries it. */
export interface ScaleCall {
  readonly method: string | undefined;
  /** The parsed JSON body (read only for the routes that take one). */
  readonly body: () => Promise<unknown>;
}

/**
 * /rep, /add and /rm in the seed's balancers' shapes. /add and /rm take the
 * seed's `{"n", "hostnames"}` (servers only) or its shard-placing
 * `{"n", "new_shards", "servers"}` / `{"n", "servers"}` (servers and the
 * shard layout together); the body's fields say which.
 */
export async function serveScaleRoute(
  deps: ScaleRouteDeps,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  sendJson(res, 200, await answerScaleRoute(deps, path, { method: req.method, body: () => readJsonBody(req) }));
}

/** The answer to one /rep, /add or /rm call (always 200; refusals are thrown as DomainErrors). */
export async function answerScaleRoute(deps: ScaleRouteDeps, path: string, call: ScaleCall): Promise<unknown> {
  switch (path) {
    case '/rep':
      expectMethod(call, 'GET');
      return { message: deps.actions.replicas(), status: 'successful' };
    case '/add': {
      expectMethod(call, 'POST');
      const body = await call.body();
      if (isShardScaleBody(body)) return requireShards(deps).add(body);
      const request = parseOrThrow(scaleRequest, body);
      return { message: await deps.actions.add(request), status: 'successful' };
    }
    case '/rm': {
      expectMethod(call, 'DELETE');
      const body = await call.body();
      if (isShardScaleBody(body)) return requireShards(deps).remove(body);
      const request = parseOrThrow(scaleRequest, body);
      return { message: await deps.actions.remove(request), status: 'successful' };
    }
    default:
      throw new DomainError('NOT_FOUND', undefined, `no route ${call.method} ${path}`);
  }
}

function requireShards(deps: ScaleRouteDeps): ShardScaleRoutes {
  if (!deps.shards) {
    throw new DomainError(
      'INVALID_INPUT',
      'servers',
      'placing shards needs the records API (SHARD_TABLE); without it /add and /rm take {"n", "hostnames"}',
    );
  }
  return deps.shards;
}
