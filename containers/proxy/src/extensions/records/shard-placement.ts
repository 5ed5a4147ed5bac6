import { compareIds } from '#core/util/by-id.js';
import type { ShardPlacement } from '../../telemetry/shard-placement.js';
import type { ClusterRouting } from './cluster-cache.js';

/** The placement in record id order; empty until /init has run. */
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
