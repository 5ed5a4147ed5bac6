import type { Logger } from 'pino';
import type { ClusterStore, ClusterView, Placement } from '#core/records/cluster-store.js';
import { ShardLayout } from '#core/records/shard-layout.js';
import { ShardReadRing } from './shard-read-ring.js';

const MAX_BACKOFF_MS = 5000;

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
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private consecutiveErrors = 0;
  errors = 0;

  constructor(
    private readonly store: ClusterStore,
    private readonly refreshMs: number,
    private readonly log: Logger,
  ) {}

  /** Undefined until /init has run (or while the tables cannot be read at start-up). */
  get current(): ClusterRouting | undefined {
    return this.routing;
  }

  async start(): Promise<void> {
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async refreshNow(): Promise<ClusterRouting | undefined> {
    clearTimeout(this.timer);
    await this.refresh();
    return this.routing;
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    let delay = this.refreshMs;
    try {
      const view = await this.store.load();
      this.routing = view ? derive(view) : undefined;
      this.consecutiveErrors = 0;
    } catch (err) {
      this.errors++;
      this.consecutiveErrors++;
      delay = Math.min(this.refreshMs * 2 ** this.consecutiveErrors, MAX_BACKOFF_MS);
      if (this.consecutiveErrors === 1) this.log.warn({ err }, 'reading ShardT/MapT failed; keeping the last view');
    }
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.refresh(), delay).unref();
    }
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
