import {
  type ClusterView,
  MAX_TRANSACTION_ITEMS,
  type Placement,
  type Reshape,
  reshapeItems,
} from '#core/aws/cluster-store.js';
import { DomainError } from '#core/errors/domain-error.js';
import { type ShardDef, ShardLayout } from '#core/records/shard-layout.js';

/** Distinct servers named in a MapT. */
function serversOf(map: readonly Placement[]): Set<string> {
  return new Set(map.map((p) => p.Server_id));
}

function checkSize(change: Reshape, field: string): Reshape {
  const items = reshapeItems(change);
  if (items > MAX_TRANSACTION_ITEMS) {
    throw new DomainError(
      'INVALID_INPUT',
      field,
      `this change writes ${items} items, more than the ${MAX_TRANSACTION_ITEMS} one atomic change can; split it`,
    );
  }
  return change;
}

/** One server of an /add: its name as asked (`servers` key) and as created, and the shards it takes. */
export interface AddedServer {
  readonly key: string;
  readonly id: string;
  readonly shardIds: readonly string[];
}

/**
 * The seed's shard-placing /add as one Reshape: new shards (checked against
 * the existing ones and each other), and a replica of each listed shard on
 * each new server. A new shard's primary is its least-burdened server;
 * existing shards keep theirs.
 */
export function planAddShards(
  view: ClusterView,
  newShards: readonly ShardDef[],
  servers: readonly AddedServer[],
): Reshape {
  const existing = new Map(view.shards.map((s) => [s.Shard_id, s]));
  const fresh = new Set<string>();
  newShards.forEach((s, i) => {
    if (existing.has(s.Shard_id) || fresh.has(s.Shard_id)) {
      throw new DomainError('INVALID_INPUT', `new_shards[${i}].Shard_id`, `"${s.Shard_id}" already exists`);
    }
    fresh.add(s.Shard_id);
  });
  const overlap = ShardLayout.overlap([...view.shards, ...newShards]);
  if (overlap) {
    throw new DomainError(
      'INVALID_INPUT',
      'new_shards',
      `${overlap[0].Shard_id} and ${overlap[1].Shard_id} cover overlapping Stud_id ranges`,
    );
  }
  const holders = new Map<string, string[]>();
  for (const server of servers) {
    server.shardIds.forEach((shardId, i) => {
      if (!existing.has(shardId) && !fresh.has(shardId)) {
        throw new DomainError('INVALID_INPUT', `servers.${server.key}[${i}]`, `unknown Shard_id "${shardId}"`);
      }
    });
    for (const shardId of new Set(server.shardIds)) holders.set(shardId, [...(holders.get(shardId) ?? []), server.id]);
  }
  newShards.forEach((s, i) => {
    if (!holders.has(s.Shard_id)) {
      throw new DomainError('INVALID_INPUT', `new_shards[${i}]`, `no server in "servers" holds ${s.Shard_id}`);
    }
  });
  const primaries = new Map<string, number>();
  for (const p of view.map) if (p.primary) primaries.set(p.Server_id, (primaries.get(p.Server_id) ?? 0) + 1);
  const put: Placement[] = [];
  for (const [shardId, ids] of holders) {
    const isNew = fresh.has(shardId);
    const primary = isNew ? leastBurdened(ids, primaries) : undefined;
    if (primary) primaries.set(primary, (primaries.get(primary) ?? 0) + 1);
    for (const id of ids) put.push({ Shard_id: shardId, Server_id: id, primary: id === primary });
  }
  const touched = [...holders.keys()]
    .filter((id) => existing.has(id))
    .map((id) => ({ Shard_id: id, version: existing.get(id)?.placement_version ?? 0 }));
  const after = serversOf([...view.map, ...put]);
  return checkSize(
    { N: { from: view.config.N, to: after.size }, newShards: [...newShards], touched, put, remove: [] },
    'servers',
  );
}

/**
 * The seed's shard-placing /rm as one Reshape: the removed servers' MapT rows
 * go; each shard they held gets as many replacement replicas as it lost, on
 * the least-loaded remaining servers; a shard whose primary went gets a new
 * one (a surviving replica when there is one). Refused when a shard would be
 * left on no server.
 */
export function planRemoveServers(
  view: ClusterView,
  removed: ReadonlySet<string>,
  remaining: readonly string[],
): Reshape {
  const load = new Map<string, number>();
  const primaries = new Map<string, number>();
  for (const id of remaining) load.set(id, 0);
  for (const p of view.map) {
    if (removed.has(p.Server_id)) continue;
    load.set(p.Server_id, (load.get(p.Server_id) ?? 0) + 1);
    if (p.primary) primaries.set(p.Server_id, (primaries.get(p.Server_id) ?? 0) + 1);
  }
  const put: Placement[] = [];
  const remove: { Shard_id: string; Server_id: string }[] = [];
  const touched: { Shard_id: string; version: number }[] = [];
  for (const shard of view.shards) {
    const rows = view.map.filter((p) => p.Shard_id === shard.Shard_id);
    const lost = rows.filter((p) => removed.has(p.Server_id));
    if (lost.length === 0) continue;
    touched.push({ Shard_id: shard.Shard_id, version: shard.placement_version ?? 0 });
    for (const p of lost) remove.push({ Shard_id: p.Shard_id, Server_id: p.Server_id });
    const kept = rows.filter((p) => !removed.has(p.Server_id));
    const candidates = remaining
      .filter((id) => !rows.some((p) => p.Server_id === id) && !removed.has(id))
      .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || (a < b ? -1 : 1))
      .slice(0, lost.length);
    for (const id of candidates) load.set(id, (load.get(id) ?? 0) + 1);
    if (kept.length === 0 && candidates.length === 0) {
      throw new DomainError(
        'INVALID_INPUT',
        'servers',
        `removing them would leave shard ${shard.Shard_id} on no server; keep one of its servers or add one first`,
      );
    }
    const primaryLost = lost.some((p) => p.primary) || !rows.some((p) => p.primary);
    const primary = primaryLost
      ? leastBurdened(kept.length > 0 ? kept.map((p) => p.Server_id) : candidates, primaries)
      : undefined;
    if (primary) {
      primaries.set(primary, (primaries.get(primary) ?? 0) + 1);
      if (kept.some((p) => p.Server_id === primary))
        put.push({ Shard_id: shard.Shard_id, Server_id: primary, primary: true });
    }
    for (const id of candidates) put.push({ Shard_id: shard.Shard_id, Server_id: id, primary: id === primary });
  }
  const after = serversOf([...view.map.filter((p) => !removed.has(p.Server_id)), ...put]);
  return checkSize({ N: { from: view.config.N, to: after.size }, newShards: [], touched, put, remove }, 'servers');
}

/** The server holding the fewest primaries (ties by id), so primaries spread. */
function leastBurdened(ids: readonly string[], primaries: ReadonlyMap<string, number>): string {
  return [...ids].sort((a, b) => (primaries.get(a) ?? 0) - (primaries.get(b) ?? 0) || (a < b ? -1 : 1))[0] as string;
}
