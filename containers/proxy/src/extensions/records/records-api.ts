import type { Logger } from 'pino';
import { z } from 'zod';
import type { ClusterStore } from '#core/aws/cluster-store.js';
import { asDomainError, DomainError, isErrorCode } from '#core/errors/domain-error.js';
import { parseOrThrow } from '#core/errors/zod-error.js';
import { statusOf } from '#core/http/error-status.js';
import { bearerMatches, errorJson, MAX_ADMIN_BODY_BYTES, parseJsonBody } from '#core/http/json.js';
import { expectMethod } from '#core/http/json-routes.js';
import type { LocalReply, LocalRequest, LocalRoutes } from '#core/ports/local-routes.js';
import { AlreadyInitializedError } from '#core/records/errors.js';
import {
  KEY_COLUMN,
  MAX_RECORD_ID,
  MAX_ROWS_PER_SHARD_WRITE,
  type Row,
  type Schema,
  validatePatch,
  validateRow,
} from '#core/records/schema.js';
import { pathOf } from '#core/routing/key-source.js';
import { answerScaleRoute, SCALE_ROUTES, type ScaleRouteDeps } from '../../admin/scale-routes.js';
import type { Fleet } from '../../fleet/fleet.js';
import type { ClusterCache, ClusterRouting } from './cluster-cache.js';
import { type InitRequest, initRequest, planInit } from './init-request.js';
import { checkLoopbackRequest } from './loopback-guard.js';
import { callServer, ServerUnreachableError, type ShardReply } from './shard-client.js';
import type { ShardScaling } from './shard-scaling.js';

/** The routes this API answers on the proxy's data port; everything else is proxied. */
export const RECORDS_ROUTES = new Set(['/init', '/status', '/write', '/read', '/update', '/del']);
/** Most rows one /write may carry. */
export const MAX_WRITE_ROWS = 10_000;
/** A write whose primary was just replaced is retried this many times after re-reading MapT. */
const PRIMARY_RETRIES = 3;
const PRIMARY_RETRY_DELAY_MS = 200;

const recordId = z
  .number({ error: 'expected a whole number' })
  .int({ error: 'expected a whole number' })
  .min(0, { error: 'must be at least 0' })
  .max(MAX_RECORD_ID, { error: `must be at most ${MAX_RECORD_ID}` });
const writeRequest = z
  .object(
    {
      data: z
        .array(z.unknown(), { error: 'expected an array of rows' })
        .min(1, { error: 'must hold at least one row' })
        .max(MAX_WRITE_ROWS, { error: `at most ${MAX_WRITE_ROWS} rows per write` }),
    },
    { error: 'expected a JSON object' },
  )
  .strict();
const readRequest = z
  .object(
    { Stud_id: z.object({ low: recordId, high: recordId }, { error: 'expected {"low": …, "high": …}' }).strict() },
    { error: 'expected a JSON object' },
  )
  .strict()
  .refine((b) => b.Stud_id.low <= b.Stud_id.high, {
    path: ['Stud_id', 'low'],
    message: 'must not exceed Stud_id.high',
  });
const updateRequest = z.object({ Stud_id: recordId, data: z.unknown() }, { error: 'expected a JSON object' }).strict();
const deleteRequest = z.object({ Stud_id: recordId }, { error: 'expected a JSON object' }).strict();

export interface RecordsApiDeps {
  readonly fleet: Fleet;
  readonly store: ClusterStore;
  readonly cache: ClusterCache;
  readonly adminToken: string | undefined;
  /**
   * Compatibility mode (SEED_COMPAT, local runs on loopback only): /init needs no token, and
   * /rep, /add and /rm answer here as on the admin port, behind the loopback guard.
   */
  readonly seedCompat: boolean;
  readonly maxBodyBytes: number;
  readonly log: Logger;
}

/** What the admin side lends the records API once it exists (it is built after the data port's server). */
export interface RecordsAdmin {
  readonly scale: ScaleRouteDeps;
  readonly shards: ShardScaling;
}

/** A successful answer: 200 and its JSON. */
function ok(value: unknown, status = 200): LocalReply {
  return { status, json: JSON.stringify(value) };
}

/**
 * The sharded records database, in the JSON shapes the seed's balancers
 * answered with. The proxy validates, splits by shard and routes: writes,
 * updates and deletes to each shard's primary, reads to one replica chosen
 * by the shard's own ring. The servers run the DynamoDB transactions. It is
 * served as local routes, so either data plane carries it.
 */
export class RecordsApi implements LocalRoutes {
  readonly maxBodyBytes: number;
  private readonly routes: ReadonlySet<string>;
  private admin: RecordsAdmin | undefined;

  constructor(private readonly deps: RecordsApiDeps) {
    this.maxBodyBytes = deps.maxBodyBytes;
    this.routes = deps.seedCompat ? new Set([...RECORDS_ROUTES, ...SCALE_ROUTES]) : RECORDS_ROUTES;
  }

  /** Answers a records request; errors in the shared shape. */
  async serve(request: LocalRequest): Promise<LocalReply> {
    try {
      return await this.route(request);
    } catch (err) {
      const failure = asDomainError(err);
      if (statusOf(failure.code) >= 500) this.deps.log.error({ err, url: request.url }, 'records request failed');
      return { status: statusOf(failure.code), json: errorJson(failure) };
    }
  }

  /** Claims its paths whatever the method, so a wrong method gets 405 here instead of reaching a server. */
  claims(_method: string, url: string): boolean {
    return this.matches(url);
  }

  /** Lends the admin actions: /init's named servers and, in the compatibility mode, /rep, /add and /rm. */
  attachAdmin(admin: RecordsAdmin): void {
    this.admin = admin;
  }

  /** True when the request is for this API (cheap: a set lookup on the path). */
  matches(url: string): boolean {
    return this.routes.has(url) || (url.includes('?') && this.routes.has(pathOf(url)));
  }

  private async route(req: LocalRequest): Promise<LocalReply> {
    const path = req.path;
    const expect = (method: string) => expectMethod(req, method);
    if (this.deps.seedCompat && (path === '/init' || SCALE_ROUTES.has(path))) checkLoopbackRequest(req);
    if (SCALE_ROUTES.has(path)) {
      const answer = await answerScaleRoute(this.requireAdmin().scale, path, {
        method: req.method,
        body: async () => parseJsonBody(req.body, MAX_ADMIN_BODY_BYTES),
      });
      return ok(answer);
    }
    switch (path) {
      case '/init':
        expect('POST');
        return this.init(req);
      case '/status':
        expect('GET');
        return this.status();
      case '/write':
        expect('POST');
        return this.write(req);
      case '/read':
        expect('POST');
        return this.read(req);
      case '/update':
        expect('PUT');
        return this.update(req);
      case '/del':
        expect('DELETE');
        return this.remove(req);
      default:
        throw new DomainError('NOT_FOUND', undefined, `no route ${req.method} ${path}`);
    }
  }

  /** The request's body as JSON, within the routes' limit. */
  private json(req: LocalRequest): unknown {
    return parseJsonBody(req.body, this.deps.maxBodyBytes);
  }

  /**
   * /init reshapes the database, so it needs the admin token (when one is configured and the
   * compatibility mode is off). Servers its `servers` placement names that do not exist yet are
   * created under those names where servers can be named (local runs), as the seed's /init did;
   * on ECS, where tasks take their own ids, such a name is refused with the live servers' names.
   */
  private async init(req: LocalRequest): Promise<LocalReply> {
    const { adminToken, fleet, store, cache } = this.deps;
    if (!this.deps.seedCompat && adminToken !== undefined && !bearerMatches(req.headers.authorization, adminToken)) {
      throw new DomainError('UNAUTHORIZED', 'authorization', 'a valid bearer token is required for /init');
    }
    const body = parseOrThrow(initRequest, this.json(req));
    const live = fleet
      .list()
      .filter((b) => b.status === 'active')
      .map((b) => b.id);
    const shards = this.admin?.shards;
    const missing = Object.keys(body.servers ?? {}).filter((id) => !live.includes(id));
    if (missing.length > 0 && !shards?.namesServers) {
      throw new DomainError(
        'INVALID_INPUT',
        `servers.${missing[0]}`,
        `not a live server, and servers cannot be created under chosen names here (on ECS each task takes its own id); name live servers (${live.sort().join(', ') || 'none yet'}) or omit "servers" to spread the shards over N of them`,
      );
    }
    if (missing.length === 0 || !shards) {
      const plan = planInit(body, live);
      await store.init(plan.config, plan.shards, plan.placement);
    } else {
      await this.initCreating(body, live, missing, shards);
    }
    await cache.refreshNow();
    this.deps.log.info({ shards: body.shards.length, created: missing.length }, 'database initialized');
    return ok({ message: 'Configured Database', status: 'success' });
  }

  /**
   * /init whose placement names servers that do not exist: everything is checked before a server
   * starts, and the servers started for an /init that then fails are stopped again.
   */
  private async initCreating(
    body: InitRequest,
    live: readonly string[],
    missing: readonly string[],
    shards: ShardScaling,
  ): Promise<void> {
    const { store, log } = this.deps;
    planInit(body, [...live, ...missing]);
    if (await store.load()) throw new AlreadyInitializedError();
    await shards.createServers(missing);
    try {
      const plan = planInit(body, [...live, ...missing]);
      await store.init(plan.config, plan.shards, plan.placement);
    } catch (err) {
      await shards
        .removeServers(missing)
        .catch((undo: unknown) =>
          log.error({ err: undo, servers: missing }, '/init could not remove the servers it started'),
        );
      throw err;
    }
    log.info({ servers: missing }, '/init created the servers its placement names');
  }

  private requireAdmin(): RecordsAdmin {
    if (!this.admin) throw new DomainError('UNAVAILABLE', undefined, 'the admin actions are still starting');
    return this.admin;
  }

  /** Read fresh, not from the routing cache: valid_idx must count every write acknowledged so far. */
  private async status(): Promise<LocalReply> {
    const routing = await this.deps.cache.refreshNow().then((r) => r ?? this.routing());
    const { view } = routing;
    const servers: Record<string, string[]> = {};
    for (const p of view.map) servers[p.Server_id] = [...(servers[p.Server_id] ?? []), p.Shard_id];
    return ok({
      N: view.config.N,
      schema: view.config.schema,
      replicas: view.config.replicas,
      shards: routing.layout.shards.map((s) => {
        const state = view.shards.find((x) => x.Shard_id === s.Shard_id);
        return {
          Stud_id_low: s.Stud_id_low,
          Shard_id: s.Shard_id,
          Shard_size: s.Shard_size,
          valid_idx: state?.valid_idx ?? 0,
          primary: routing.primaryOf(s.Shard_id) ?? null,
          replicas: routing
            .replicasOf(s.Shard_id)
            .map((p) => p.Server_id)
            .sort(),
        };
      }),
      servers,
      status: 'success',
    });
  }

  /**
   * Rows are validated and grouped by shard up front, so a bad row fails the
   * whole request before anything is written. Each shard's group then commits
   * atomically on its primary; the reply names every shard that did not.
   */
  private async write(req: LocalRequest): Promise<LocalReply> {
    const body = parseOrThrow(writeRequest, this.json(req));
    const routing = await this.routing();
    const schema = routing.view.config.schema;
    const groups = new Map<string, Row[]>();
    const seen = new Map<number, number>();
    body.data.forEach((value, i) => {
      const row = validateRow(schema, value, `data[${i}]`);
      const id = row[KEY_COLUMN] as number;
      const first = seen.get(id);
      if (first !== undefined)
        throw new DomainError('INVALID_INPUT', `data[${i}].${KEY_COLUMN}`, `${id} also appears at data[${first}]`);
      seen.set(id, i);
      const shard = routing.layout.shardOf(id);
      if (!shard) throw new DomainError('INVALID_INPUT', `data[${i}].${KEY_COLUMN}`, `${id} is outside every shard`);
      groups.set(shard.Shard_id, [...(groups.get(shard.Shard_id) ?? []), row]);
    });
    for (const [shardId, rows] of groups) {
      if (rows.length > MAX_ROWS_PER_SHARD_WRITE) {
        throw new DomainError(
          'INVALID_INPUT',
          'data',
          `shard ${shardId} gets ${rows.length} rows; at most ${MAX_ROWS_PER_SHARD_WRITE} per shard in one write`,
        );
      }
    }
    const outcomes = await Promise.all(
      [...groups].map(async ([shardId, rows]) => {
        try {
          await this.onPrimary(shardId, 'POST', `/shards/${shardId}/write`, { rows });
          return { shardId, written: rows.length };
        } catch (err) {
          return {
            shardId,
            written: 0,
            error: asDomainError(err),
          };
        }
      }),
    );
    const written = outcomes.reduce((n, o) => n + o.written, 0);
    const failed = outcomes.filter((o) => o.error);
    if (failed.length === 0) return ok({ message: `${written} Data entries added`, status: 'success' });
    const only = failed.length === outcomes.length && failed.length === 1 ? failed[0]?.error : undefined;
    return ok(
      {
        message: `${written} Data entries added; ${failed.length} shard(s) failed`,
        status: written > 0 ? 'partial' : 'failure',
        written: Object.fromEntries(outcomes.filter((o) => !o.error).map((o) => [o.shardId, o.written])),
        failed: Object.fromEntries(failed.map((o) => [o.shardId, o.error?.message])),
      },
      only ? statusOf(only.code) : 207,
    );
  }

  private async read(req: LocalRequest): Promise<LocalReply> {
    const body = parseOrThrow(readRequest, this.json(req));
    const { low, high } = body.Stud_id;
    const routing = await this.routing();
    const parts = routing.layout.overlapping(low, high);
    const key = `${low}:${high}`;
    const results = await Promise.all(
      parts.map(async (part) => {
        const reply = await this.onReplica(routing, part.shard.Shard_id, key, `/shards/${part.shard.Shard_id}/read`, {
          low: part.low,
          high: part.high,
        });
        return reply.body.rows as Row[];
      }),
    );
    const data = results.flat().sort((a, b) => (a[KEY_COLUMN] as number) - (b[KEY_COLUMN] as number));
    return ok({ shards_queried: parts.map((p) => p.shard.Shard_id), data, status: 'success' });
  }

  private async update(req: LocalRequest): Promise<LocalReply> {
    const body = parseOrThrow(updateRequest, this.json(req));
    const routing = await this.routing();
    const patch = validatePatch(routing.view.config.schema as Schema, body.data, 'data', body.Stud_id);
    const shard = this.shardOf(routing, body.Stud_id);
    await this.onPrimary(shard, 'PUT', `/shards/${shard}/records/${body.Stud_id}`, { data: patch });
    return ok({ message: `Data entry for Stud_id:${body.Stud_id} updated`, status: 'success' });
  }

  private async remove(req: LocalRequest): Promise<LocalReply> {
    const body = parseOrThrow(deleteRequest, this.json(req));
    const shard = this.shardOf(await this.routing(), body.Stud_id);
    await this.onPrimary(shard, 'DELETE', `/shards/${shard}/records/${body.Stud_id}`, undefined);
    return ok({
      message: `Data entry with Stud_id:${body.Stud_id} removed from all replicas`,
      status: 'success',
    });
  }

  private shardOf(routing: ClusterRouting, id: number): string {
    const shard = routing.layout.shardOf(id);
    if (!shard)
      throw new DomainError('NOT_FOUND', KEY_COLUMN, `no record with Stud_id ${id}: it is outside every shard`);
    return shard.Shard_id;
  }

  private async routing(): Promise<ClusterRouting> {
    const routing = this.deps.cache.current ?? (await this.deps.cache.refreshNow());
    if (!routing)
      throw new DomainError('NOT_INITIALIZED', undefined, 'the database is not initialized; POST /init first');
    return routing;
  }

  /**
   * Sends a mutation to the shard's primary. When the primary has just
   * changed (the server fenced us off with NOT_PRIMARY, or a dead primary
   * refused the connection so nothing ran), re-read MapT and try the new one.
   * A request the old primary may have run is not repeated: its outcome is
   * unknown, and the client is told so.
   */
  private async onPrimary(
    shardId: string,
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    body: unknown,
  ): Promise<ShardReply> {
    let routing = await this.routing();
    for (let attempt = 0; ; attempt++) {
      const primary = routing.primaryOf(shardId);
      let reply: ShardReply | undefined;
      let retryable = false;
      if (primary !== undefined) {
        try {
          reply = await callServer(this.deps.fleet, primary, method, path, body);
          if (reply.status === 200) return reply;
          retryable = reply.body.code === 'NOT_PRIMARY';
        } catch (err) {
          if (!(err instanceof ServerUnreachableError) || !err.neverSent) throw err;
          retryable = true;
        }
      } else {
        retryable = true;
      }
      if (!retryable || attempt >= PRIMARY_RETRIES) {
        if (reply) throw relayed(reply);
        throw new DomainError('UNAVAILABLE', 'Shard_id', `shard ${shardId} has no reachable primary`);
      }
      await new Promise((r) => setTimeout(r, PRIMARY_RETRY_DELAY_MS * (attempt + 1)));
      routing = (await this.deps.cache.refreshNow()) ?? routing;
    }
  }

  /** Sends a read to the shard's ring choice, then to the other replicas if it fails. */
  private async onReplica(
    routing: ClusterRouting,
    shardId: string,
    key: string,
    path: string,
    body: unknown,
  ): Promise<ShardReply> {
    const fleet = this.deps.fleet;
    const order = routing.readRing(shardId).order(key, (id) => fleet.get(id)?.available === true);
    let lastError: unknown;
    for (const serverId of order) {
      try {
        const reply = await callServer(fleet, serverId, 'POST', path, body);
        if (reply.status === 200) return reply;
        lastError = relayed(reply);
      } catch (err) {
        lastError = err;
      }
    }
    // A refusal of the request itself (4xx) would be the same on every replica.
    if (lastError instanceof DomainError && statusOf(lastError.code) < 500) throw lastError;
    throw new DomainError('UNAVAILABLE', 'Shard_id', `no replica of shard ${shardId} could serve the read`, {
      cause: lastError,
    });
  }
}

/** A server's refusal passed on with its own code and message (the message already names the field). */
function relayed(reply: ShardReply): DomainError {
  const code = isErrorCode(reply.body.code) ? reply.body.code : 'UPSTREAM_FAILED';
  return new DomainError(code, undefined, reply.body.message ?? `server answered ${reply.status}`);
}
