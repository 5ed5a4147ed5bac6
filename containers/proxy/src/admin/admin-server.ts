import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DomainError } from '#core/errors/domain-error.js';
import { parseOrThrow } from '#core/errors/zod-error.js';
import { bearerMatches, readJsonBody, sendJson } from '#core/http/json.js';
import { expectMethod, serveJson } from '#core/http/json-routes.js';
import { SERVER_ID_PATTERN, SERVER_ID_RULE } from '#core/membership/server-id.js';
import { pathOf } from '#core/routing/key-source.js';
import type { LeaseRegistry } from '../membership/lease-registry.js';
import { renderPrometheus } from '../telemetry/prometheus.js';
import type { ProxySnapshot } from '../telemetry/snapshot.js';
import { statusReport } from '../telemetry/status-report.js';
import { SnapshotEvents } from './event-stream.js';
import type { FleetActions } from './fleet-actions.js';
import { servePageAsset } from './page-routes.js';
import { type ShardScaleRoutes, serveScaleRoute } from './scale-routes.js';
import { heartbeatRequest } from './schemas.js';

/** A slow admin client gets this long to send its request. */
const ADMIN_REQUEST_TIMEOUT_MS = 10_000;

export interface AdminDeps {
  readonly token: string | undefined;
  readonly actions: FleetActions;
  /** The seed's shard-placing /add and /rm with shards; undefined without the records API. */
  readonly shards: ShardScaleRoutes | undefined;
  readonly registry: LeaseRegistry | undefined;
  readonly snapshot: () => ProxySnapshot;
  readonly log: Logger;
}

/**
 * The admin port's HTTP server, without routes yet: it is listened on first,
 * because the local scaler hands the port to the servers it starts, and the
 * routes need the scaler (through FleetActions). `serveAdmin` attaches them.
 */
export function createAdminListener(): Server {
  return createServer({ requestTimeout: ADMIN_REQUEST_TIMEOUT_MS });
}

/**
 * The admin API. Every data route needs the bearer token; /healthz and the
 * balance page's static files (/, /ui, /ui/*), which hold no data, do not.
 * Routes and JSON shapes follow the seed's balancers it replaces (/rep, /add,
 * /rm), plus /status, /metrics, /events (the page's live feed) and the
 * servers' own registration (/members/:id).
 */
export function serveAdmin(server: Server, deps: AdminDeps): void {
  const events = new SnapshotEvents(() => statusReport(deps.snapshot()));
  server.on(
    'request',
    serveJson((req, res) => route(deps, events, req, res), deps.log, 'admin request'),
  );
}

async function route(
  deps: AdminDeps,
  events: SnapshotEvents,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = pathOf(req.url ?? '/');
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (servePageAsset(req, res, path)) return;
  if (deps.token !== undefined && !bearerMatches(req.headers.authorization, deps.token)) {
    res.setHeader('www-authenticate', 'Bearer realm="ringmaster-admin"');
    throw new DomainError('UNAUTHORIZED', 'authorization', 'a valid bearer token is required');
  }
  const member = /^\/members\/([^/]+)$/.exec(path);
  switch (member ? '/members/:id' : path) {
    case '/rep':
    case '/add':
    case '/rm':
      return serveScaleRoute(deps, path, req, res);
    case '/status':
      expectMethod(req, 'GET');
      return sendJson(res, 200, statusReport(deps.snapshot()));
    case '/events':
      expectMethod(req, 'GET');
      return events.serve(req, res);
    case '/metrics': {
      expectMethod(req, 'GET');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(renderPrometheus(deps.snapshot()));
      return;
    }
    case '/members/:id':
      return memberRoute(deps, req, res, decodeURIComponent(member?.[1] ?? ''));
    default:
      throw new DomainError('NOT_FOUND', undefined, `no admin route ${req.method} ${path}`);
  }
}

async function memberRoute(deps: AdminDeps, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const registry = deps.registry;
  if (!registry) {
    throw new DomainError('CONFLICT', undefined, 'servers register in the Ring table or a static list, not here');
  }
  if (!SERVER_ID_PATTERN.test(id)) throw new DomainError('INVALID_INPUT', 'id', SERVER_ID_RULE);
  if (req.method === 'PUT') {
    const body = parseOrThrow(heartbeatRequest, await readJsonBody(req));
    const result = registry.heartbeat(id, body.address, body.weight);
    if (result === 'removed') throw new DomainError('GONE', 'id', `server "${id}" was removed; add it again with /add`);
    if (result === 'full') throw new DomainError('CONFLICT', 'id', 'the server limit is reached');
    return sendJson(res, 200, { status: 'successful', leaseMs: registry.leaseMs, memberStatus: registry.statusOf(id) });
  }
  if (req.method === 'DELETE') {
    if (!registry.deregister(id)) throw new DomainError('NOT_FOUND', 'id', `unknown server "${id}"`);
    return sendJson(res, 200, { status: 'successful' });
  }
  throw new DomainError('METHOD_NOT_ALLOWED', undefined, `method ${req.method} not allowed on /members/:id`);
}
