import type { Logger } from 'pino';
import type { ClusterStore, ClusterView, Placement } from '#core/aws/cluster-store.js';
import { ShardLayout } from '#core/records/shard-layout.js';
import { BackoffPoller } from '../membership/backoff-poller.js';
import { ShardReadRing } from './shard-read-ring.js';

/** Routing facts derived from one ClusterView. */
export interface ClusterRouting {
  readonly view: ClusterView;
  readonly layout: ShardLayout;
  primaryOf(shardId: string): string | undefined;
  replicasOf(shardId: string): readonly Placement[];
  readRing(shardId: string): ShardReadRing;
}

/**
 * The proxy's copy of ShardT and MapT, re-read every `refreshMs` and at once
 * after /init or a shard-manager change. Like membership, a failed read keeps
 * the last view and retries with back-off.
 */
export class ClusterCache {
  private routing: ClusterRouting | undefined;
  private readonly poller: BackoffPoller;

  constructor(
    private readonly store: ClusterStore,
    refreshMs: number,
    log: Logger,
  ) {
    this.poller = new BackoffPoller(() => this.read(), refreshMs, 'ShardT and MapT', log);
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

  async refreshNow(): Promise<ClusterRouting | undefined> {
    await this.poller.pollNow();
    return this.routing;
  }

  private async read(): Promise<void> {
    const view = await this.store.load();
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
