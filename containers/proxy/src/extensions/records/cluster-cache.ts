import type { Logger } from 'pino';
import type { ClusterStore, ClusterView, Placement } from '#core/aws/cluster-store.js';
import { ShardLayout } from '#core/records/shard-layout.js';
import { BackoffPoller } from '../../membership/backoff-poller.js';
import { DEFAULT_FULL_READ_MS } from '../../membership/dynamo-membership.js';
import { ShardReadRing } from './shard-read-ring.js';

/** Routing facts derived from one ClusterView. */
export interface ClusterRouting {
  readonly view: ClusterView;
  readonly layout: ShardLayout;
  primaryOf(shardId: string): string | undefined;
  replicasOf(shardId: string): readonly Placement[];
  readRing(shardId: string): ShardReadRing;
}

/** The cluster version as last polled by membership (undefined: not known, so read the tables). */
export type ClusterVersionFeed = () => number | undefined;

/**
 * The proxy's copy of ShardT and MapT: the one load both the records API and
 * the shard manager use. It is checked every `refreshMs` and re-read at once
 * after /init or a shard-manager change. With a `clusterVersion` feed (the
 * membership version item, which DynamoMembership polls anyway) the tables
 * are re-read only when that version moved, or after `fullReadMs` as a
 * safety net; without one, on every check. Like membership, a failed read
 * keeps the last view and retries with back-off.
 */
export class ClusterCache {
  private routing: ClusterRouting | undefined;
  private readonly poller: BackoffPoller;
  /** The cluster version the current view is known to include. */
  private loadedVersion: number | undefined;
  private loadedAt = 0;
  private loaded = false;
  private forced = false;
  /** Full loads of ShardT/MapT so far. */
  loads = 0;

  constructor(
    private readonly store: ClusterStore,
    refreshMs: number,
    log: Logger,
    private readonly clusterVersion: ClusterVersionFeed = () => undefined,
    private readonly fullReadMs = DEFAULT_FULL_READ_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.poller = new BackoffPoller(() => this.read(), refreshMs, 'ShardT and MapT', log, now);
  }

  /** Undefined until /init has run (or while the tables cannot be read at start-up). */
  get current(): ClusterRouting | undefined {
    return this.routing;
  }

  start(): Promise<void> {
    return this.poller.pollNow();
  }

  stop(): void {
    this.poller.stop();
  }

  /** A full load now, whatever the version says (callers that need valid_idx or their own change). */
  async refreshNow(): Promise<ClusterRouting | undefined> {
    this.forced = true;
    await this.poller.pollNow();
    return this.routing;
  }

  private async read(): Promise<void> {
    const version = this.clusterVersion();
    const now = this.now();
    const current =
      !this.forced &&
      this.loaded &&
      version !== undefined &&
      version === this.loadedVersion &&
      now - this.loadedAt < this.fullReadMs;
    if (current) return;
    const view = await this.store.load();
    this.loads++;
    this.loaded = true;
    this.forced = false;
    // The version was read before this load, so the load includes every change it counts.
    this.loadedVersion = version;
    this.loadedAt = now;
    this.routing = view ? derive(view) : undefined;
  }
}

function derive(view: ClusterView): ClusterRouting {
  const byShard = new Map<string, Placement[]>();
  for (const p of view.map) {
    const list = byShard.get(p.Shard_id) ?? [];
    list.push(p);
    byShard.set(p.Shard_id, list);
  }
  const rings = new Map<string, ShardReadRing>();
  return {
    view,
    layout: new ShardLayout(view.shards),
    primaryOf: (shardId) => byShard.get(shardId)?.find((p) => p.primary)?.Server_id,
    replicasOf: (shardId) => byShard.get(shardId) ?? [],
    readRing: (shardId) => {
      let ring = rings.get(shardId);
      if (!ring) {
        ring = new ShardReadRing((byShard.get(shardId) ?? []).map((p) => p.Server_id));
        rings.set(shardId, ring);
      }
      return ring;
    },
  };
}
