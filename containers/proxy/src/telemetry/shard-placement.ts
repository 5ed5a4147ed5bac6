import { compareIds } from '#core/util/by-id.js';
import type { ClusterRouting } from '../records/cluster-cache.js';

/** Which servers hold one shard, as the proxy's copy of ShardT and MapT says. */
export interface ShardPlacement {
  readonly id: string;
  /** Lowest Stud_id in the shard; it holds Stud_id_low .. Stud_id_low + size - 1. */
  readonly low: number;
  readonly size: number;
  /** Null while the shard has no primary (between a primary's loss and the shard manager's promotion). */
  readonly primary: string | null;
  /** Every server holding the shard, the primary included, in id order. */
  readonly servers: readonly string[];
}

/** The placement in Stud_id order; empty until /init has run. */
export function shardPlacement(routing: ClusterRouting | undefined): ShardPlacement[] {
  if (!routing) return [];
  return [...routing.view.shards]
    .sort((a, b) => a.Stud_id_low - b.Stud_id_low)
    .map((shard) => ({
      id: shard.Shard_id,
      low: shard.Stud_id_low,
      size: shard.Shard_size,
      primary: routing.primaryOf(shard.Shard_id) ?? null,
      servers: routing
        .replicasOf(shard.Shard_id)
        .map((p) => p.Server_id)
        .sort(compareIds),
    }));
}
