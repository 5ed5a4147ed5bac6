import type { Logger } from 'pino';
import type { ClusterStore, Placement } from '#core/aws/cluster-store.js';
import type { MembershipSource } from '#core/ports/membership.js';
import { compareIds } from '#core/util/by-id.js';
import type { Fleet } from '../../fleet/fleet.js';
import type { ClusterCache } from './cluster-cache.js';

/** The manager acts only on a membership read this recently: never on a stale view of who is alive. */
const MAX_MEMBERSHIP_AGE_MS = 5000;

/**
 * Keeps every shard served when servers die: a shard whose primary is no
 * longer a live member gets a live replica promoted, a shard short of
 * replicas gets new ones on the least-loaded live servers, and dead servers'
 * replica rows are dropped. The rows are in DynamoDB, so a new replica needs
 * no copying.
 *
 * Every proxy runs this at once, each on its own reading of the tables. Each
 * change is a transaction conditional on the shard's placement_version as it
 * was read, and advances it: of proxies acting on the same reading exactly
 * one commits, one acting on an older reading commits nothing, and the rest
 * find their condition failed and look again on the next tick. (Without the
 * version, two proxies once each added a different replacement to one shard.)
 */
export class ShardManager {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly fleet: Fleet,
    private readonly membership: MembershipSource,
    private readonly store: ClusterStore,
    private readonly cache: ClusterCache,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.reconcile();
    } catch (err) {
      this.log.warn({ err }, 'shard manager pass failed; retrying next tick');
    } finally {
      this.running = false;
    }
  }

  private async reconcile(): Promise<void> {
    const age = this.membership.stats().lastReadAgeMs;
    if (age < 0 || age > MAX_MEMBERSHIP_AGE_MS) return;
    // The cache's load, not one of our own: both consume the same copy of ShardT/MapT. A view a little
    // old is safe, since every change below is conditional on the placement_version it read.
    const view = this.cache.current?.view;
    if (!view) return;
    const live = new Set(
      this.fleet
        .list()
        .filter((b) => b.status === 'active')
        .map((b) => b.id),
    );
    if (live.size === 0) return;
    const load = new Map<string, number>();
    for (const p of view.map) if (live.has(p.Server_id)) load.set(p.Server_id, (load.get(p.Server_id) ?? 0) + 1);
    let changed = false;
    for (const shard of view.shards) {
      const rows = view.map.filter((p) => p.Shard_id === shard.Shard_id);
      const primary = rows.find((p) => p.primary);
      const liveRows = rows.filter((p) => live.has(p.Server_id)).sort(byServer);
      // Each change below is conditional on this version and advances it by one.
      let version = shard.placement_version ?? 0;
      if ((!primary || !live.has(primary.Server_id)) && liveRows.length > 0) {
        const next = liveRows.find((p) => !p.primary) as Placement;
        if (await this.store.promote(shard.Shard_id, version, primary?.Server_id, next.Server_id)) {
          version++;
          changed = true;
          this.log.warn(
            { shard: shard.Shard_id, from: primary?.Server_id, to: next.Server_id },
            'promoted a new primary',
          );
        }
      }
      const missing = view.config.replicas - liveRows.length;
      if (missing > 0) {
        const candidates = [...live]
          .filter((id) => !rows.some((p) => p.Server_id === id))
          .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || (a < b ? -1 : 1))
          .slice(0, missing);
        for (const serverId of candidates) {
          if (await this.store.addReplica(shard.Shard_id, version, serverId)) {
            version++;
            changed = true;
            load.set(serverId, (load.get(serverId) ?? 0) + 1);
            this.log.info({ shard: shard.Shard_id, server: serverId }, 'placed a replacement replica');
          }
        }
      }
      for (const dead of rows.filter((p) => !live.has(p.Server_id) && !p.primary)) {
        if (await this.store.dropReplica(shard.Shard_id, version, dead.Server_id)) {
          version++;
          changed = true;
          this.log.info({ shard: shard.Shard_id, server: dead.Server_id }, 'dropped a dead server’s replica');
        }
      }
    }
    if (changed) await this.cache.refreshNow();
  }
}

const byServer = (a: Placement, b: Placement) => compareIds(a.Server_id, b.Server_id);
