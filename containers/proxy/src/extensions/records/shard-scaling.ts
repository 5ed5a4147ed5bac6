import type { Logger } from 'pino';
import type { ClusterStore, ClusterView, Reshape } from '#core/aws/cluster-store.js';
import { DomainError } from '#core/errors/domain-error.js';
import type { FleetActions } from '../../admin/fleet-actions.js';
import { GENERATED_NAME } from '../../admin/schemas.js';
import type { Fleet } from '../../fleet/fleet.js';
import type { ClusterCache } from './cluster-cache.js';
import { type AddedServer, planAddShards, planRemoveServers } from './reshape-plan.js';
import type { ShardAddRequest, ShardRemoveRequest } from './scale-requests.js';

/** A reshape whose condition failed (the shard manager or another proxy changed placement) is re-planned this often. */
const RESHAPE_ATTEMPTS = 3;
/** Where the seed's system reported the rows it copied to new replicas: here nothing moves. */
export const NOTHING_COPIED =
  'no rows were copied: every replica reads its shard from DynamoDB, so a new replica serves at once';

export interface ShardAddReply {
  readonly N: number;
  readonly message: string;
  readonly servers: readonly string[];
  readonly data: string;
  readonly status: 'successful';
}

export interface ShardRemoveReply {
  readonly message: { readonly N: number; readonly servers: readonly string[] };
  readonly data: string;
  readonly status: 'successful';
}

/**
 * The seed's shard-placing /add and /rm, which change servers and the shard
 * layout together. The servers change through the admin actions (the same
 * /add and /rm with hostnames), the layout through one conditional DynamoDB
 * transaction, so the layout is never half-changed:
 *
 * - /add starts and registers the servers first, then writes the new shards
 *   and replicas; if the write fails, the new servers are removed again.
 * - /rm re-places the leaving servers' replicas and elects new primaries
 *   first (so no write is routed to a leaving server), then drains and stops
 *   the servers.
 */
export class ShardScaling {
  constructor(
    private readonly fleet: Fleet,
    private readonly store: ClusterStore,
    private readonly cache: ClusterCache,
    private readonly actions: FleetActions,
    private readonly log: Logger,
  ) {}

  /** True when new servers can be given names here (local processes); on ECS tasks take their own. */
  get namesServers(): boolean {
    return this.actions.namesServers;
  }

  /** Starts servers under these names and waits until they have registered (for /init). */
  async createServers(ids: readonly string[]): Promise<void> {
    await this.actions.add({ n: ids.length, hostnames: [...ids] });
  }

  /** Drains and stops these servers (an /init that failed after creating them). */
  async removeServers(ids: readonly string[]): Promise<void> {
    await this.actions.remove({ n: ids.length, hostnames: [...ids] });
  }

  async add(body: ShardAddRequest): Promise<ShardAddReply> {
    if (!this.namesServers) {
      throw new DomainError(
        'INVALID_INPUT',
        'servers',
        'servers cannot be created under chosen names here (on ECS each task takes its own id); add servers with {"n": k}, then place shards on them by their ids',
      );
    }
    const initial = await this.requireView();
    const servers = this.nameServers(body.servers);
    // Checked before anything starts: a bad layout starts no server.
    planAddShards(initial, body.new_shards, servers);
    const ids = servers.map((s) => s.id);
    await this.createServers(ids);
    try {
      await this.reshape((view) => planAddShards(view, body.new_shards, servers));
    } catch (err) {
      this.log.warn({ err, servers: ids }, '/add could not place the shards; removing the servers it started');
      await this.removeServers(ids).catch((undo: unknown) =>
        this.log.error({ err: undo, servers: ids }, '/add could not remove the servers it started'),
      );
      throw err;
    }
    const view = await this.requireView();
    this.log.info({ servers: ids, newShards: body.new_shards.map((s) => s.Shard_id) }, 'servers and shards added');
    return {
      N: view.config.N,
      message: `Add ${ids.map((id) => `Server:${id}`).join(' and ')}`,
      servers: ids,
      data: NOTHING_COPIED,
      status: 'successful',
    };
  }

  async remove(body: ShardRemoveRequest): Promise<ShardRemoveReply> {
    let removed: readonly string[] = [];
    const active = this.fleet.list().filter((b) => b.status === 'active');
    body.servers.forEach((id, i) => {
      if (!active.some((b) => b.id === id)) {
        throw new DomainError(
          'INVALID_INPUT',
          `servers[${i}]`,
          `"${id}" is not a live server; the live servers are ${
            active
              .map((b) => b.id)
              .sort()
              .join(', ') || 'none'
          }`,
        );
      }
    });
    // FleetActions picks the servers not named (the newest) and checks them; the shards are
    // re-placed before any of them is drained, and a refused re-placement removes nothing.
    await this.actions.remove({ n: body.n, hostnames: [...body.servers] }, async (ids) => {
      removed = ids;
      const leaving = new Set(ids);
      const remaining = this.fleet
        .list()
        .filter((b) => b.status === 'active' && !leaving.has(b.id))
        .map((b) => b.id);
      if (await this.store.load()) await this.reshape((view) => planRemoveServers(view, leaving, remaining));
    });
    const after = await this.store.load();
    this.log.info({ servers: removed }, 'servers removed and their shards re-placed');
    return {
      message: { N: after?.config.N ?? this.actions.replicas().N, servers: [...removed] },
      data: NOTHING_COPIED,
      status: 'successful',
    };
  }

  /** `Name[k]` keys become Name followed by a number in use nowhere; plain names must be new. */
  private nameServers(servers: ShardAddRequest['servers']): AddedServer[] {
    const taken = new Set(this.fleet.list().map((b) => b.id));
    for (const key of Object.keys(servers)) {
      if (GENERATED_NAME.test(key)) continue;
      if (taken.has(key)) throw new DomainError('INVALID_INPUT', `servers.${key}`, `server "${key}" already exists`);
      taken.add(key);
    }
    return Object.entries(servers).map(([key, shardIds]) => {
      const generated = GENERATED_NAME.exec(key);
      if (!generated) return { key, id: key, shardIds };
      const [, prefix, from] = generated as unknown as [string, string, string];
      let k = Number(from);
      while (taken.has(`${prefix}${k}`)) k++;
      const id = `${prefix}${k}`;
      taken.add(id);
      return { key, id, shardIds };
    });
  }

  private async requireView(): Promise<ClusterView> {
    const view = await this.store.load();
    if (!view) throw new DomainError('NOT_INITIALIZED', undefined, 'the database is not initialized; POST /init first');
    return view;
  }

  /** Plans on a fresh view and writes it; re-plans when placement changed in between. */
  private async reshape(plan: (view: ClusterView) => Reshape): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const change = plan(await this.requireView());
      if (await this.store.reshape(change)) break;
      if (attempt >= RESHAPE_ATTEMPTS) {
        throw new DomainError(
          'CONFLICT',
          undefined,
          `the shard placement kept changing under this request (${RESHAPE_ATTEMPTS} attempts); nothing was changed, try again`,
        );
      }
    }
    await this.cache.refreshNow();
  }
}
