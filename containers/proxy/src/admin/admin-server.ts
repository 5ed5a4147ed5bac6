import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { fromZodError, HttpError } from '#core/http/http-error.js';
import { bearerMatches, readJsonBody, sendFailure, sendJson } from '#core/http/json.js';
import type { MembershipSource } from '#core/ports/membership.js';
import { pathOf } from '#core/routing/key-source.js';
import type { Fleet } from '../fleet/fleet.js';
import type { RetryBudget } from '../forwarding/retry-budget.js';
import type { LeaseRegistry } from '../membership/lease-registry.js';
import type { ProxyMetrics } from '../telemetry/metrics.js';
import { type StatusInfo, statusReport } from '../telemetry/status-report.js';
import type { FleetActions } from './fleet-actions.js';
import { heartbeatRequest, SERVER_ID, scaleRequest } from './schemas.js';

/** A slow admin client gets this long to send its request. */
const ADMIN_REQUEST_TIMEOUT_MS = 10_000;

export interface AdminDeps {
  readonly token: string | undefined;
  readonly fleet: Fleet;
  readonly actions: FleetActions;
  readonly registry: LeaseRegistry | undefined;
  readonly membership: MembershipSource;
  readonly metrics: ProxyMetrics;
  readonly retryBudget: RetryBudget;
  readonly info: StatusInfo;
  readonly log: Logger;
}

/**
 * The admin API, on its own port. Every route but /healthz needs the bearer
 * token. Routes and JSON shapes follow the assignments (/rep, /add, /rm),
 * plus /status, /metrics and the servers' own registration (/members/:id).
 */
export function createAdminServer(deps: AdminDeps): Server {
  const server = createServer({ requestTimeout: ADMIN_REQUEST_TIMEOUT_MS }, (req, res) => {
    route(deps, req, res).catch((err: unknown) => {
      const failure = err instanceof HttpError ? err : new HttpError(500, undefined, 'internal error', { cause: err });
      if (failure.status >= 500) deps.log.error({ err, url: req.url }, 'admin request failed');
      if (!res.headersSent) sendFailure(res, failure);
      else res.destroy();
    });
  });
  return server;
}

async function route(deps: AdminDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req.url ?? '/');
  const method = req.method ?? 'GET';
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (deps.token !== undefined && !bearerMatches(req.headers.authorization, deps.token)) {
    res.setHeader('www-authenticate', 'Bearer realm="ringmaster-admin"');
    throw new HttpError(401, 'authorization', 'a valid bearer token is required');
  }
  const member = /^\/members\/([^/]+)$/.exec(path);
  switch (member ? '/members/:id' : path) {
    case '/rep':
      expectMethod(method, 'GET');
      return sendJson(res, 200, { message: deps.actions.replicas(), status: 'successful' });
    case '/add': {
      expectMethod(method, 'POST');
      const body = scaleRequest.safeParse(await readJsonBody(req));
      if (!body.success) throw fromZodError(body.error);
      return sendJson(res, 200, { message: await deps.actions.add(body.data), status: 'successful' });
    }
    case '/rm': {
      expectMethod(method, 'DELETE');
      const body = scaleRequest.safeParse(await readJsonBody(req));
      if (!body.success) throw fromZodError(body.error);
      return sendJson(res, 200, { message: await deps.actions.remove(body.data), status: 'successful' });
    }
    case '/status':
      expectMethod(method, 'GET');
      return sendJson(res, 200, statusReport(deps.fleet, deps.metrics, deps.retryBudget, deps.info, deps.membership));
    case '/metrics': {
      expectMethod(method, 'GET');
      const text = deps.metrics.render(deps.fleet, deps.retryBudget, deps.membership.stats?.());
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(text);
      return;
    }
    case '/members/:id':
      return memberRoute(deps, req, res, decodeURIComponent(member?.[1] ?? ''));
    default:
      throw new HttpError(404, undefined, `no admin route ${method} ${path}`);
  }
}

async function memberRoute(deps: AdminDeps, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const registry = deps.registry;
  if (!registry)
    throw new HttpError(409, undefined, 'membership is static (MEMBERSHIP=static); servers cannot register');
  if (!SERVER_ID.test(id)) throw new HttpError(400, 'id', 'expected 1-63 letters, digits, "-", "_" or "."');
  if (req.method === 'PUT') {
    const body = heartbeatRequest.safeParse(await readJsonBody(req));
    if (!body.success) throw fromZodError(body.error);
    const result = registry.heartbeat(id, body.data.address, body.data.weight);
    if (result === 'removed') throw new HttpError(410, 'id', `server "${id}" was removed; add it again with /add`);
    if (result === 'full') throw new HttpError(409, 'id', 'the server limit is reached');
    return sendJson(res, 200, { status: 'successful', leaseMs: registry.leaseMs, memberStatus: registry.statusOf(id) });
  }
  if (req.method === 'DELETE') {
    if (!registry.deregister(id)) throw new HttpError(404, 'id', `unknown server "${id}"`);
    return sendJson(res, 200, { status: 'successful' });
  }
  throw new HttpError(405, undefined, `method ${req.method} not allowed on /members/:id`);
}

function expectMethod(actual: string, expected: string): void {
  if (actual !== expected) throw new HttpError(405, undefined, `method ${actual} not allowed; use ${expected}`);
}
