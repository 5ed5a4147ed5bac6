import { z } from 'zod';
import { type ClusterConfig, MAX_TRANSACTION_ITEMS, type Placement } from '#core/aws/cluster-store.js';
import { DomainError } from '#core/errors/domain-error.js';
import { SERVER_ID_PATTERN, SERVER_ID_RULE } from '#core/membership/server-id.js';
import { schemaSchema } from '#core/records/schema.js';
import { type ShardDef, ShardLayout } from '#core/records/shard-layout.js';

/** Replicas per shard when /init does not say (the seed's sharded database used 3). */
export const DEFAULT_REPLICAS = 3;
const SHARD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** One shard as the seed's sharded database described it. */
export const shardDefSchema = z
  .object(
    {
      Stud_id_low: z
        .number({ error: 'expected a whole number' })
        .int({ error: 'expected a whole number' })
        .min(0, { error: 'must be at least 0' }),
      Shard_id: z
        .string({ error: 'expected a string' })
        .regex(SHARD_ID, { error: 'expected 1-64 letters, digits, "_" or "-"' }),
      Shard_size: z
        .number({ error: 'expected a whole number' })
        .int({ error: 'expected a whole number' })
        .min(1, { error: 'must be at least 1' }),
    },
    { error: 'expected {"Stud_id_low": …, "Shard_id": …, "Shard_size": …}' },
  )
  .strict();

/** POST /init, in the seed's sharded database's JSON shape, plus an optional `replicas`. */
export const initRequest = z
  .object(
    {
      N: z
        .number({ error: 'expected a whole number' })
        .int({ error: 'expected a whole number' })
        .min(1, { error: 'must be at least 1' }),
      schema: schemaSchema,
      shards: z
        .array(shardDefSchema, { error: 'expected an array of shards' })
        .min(1, { error: 'must list at least one shard' }),
      servers: z.record(z.string(), z.array(z.string(), { error: 'expected an array of Shard_ids' })).optional(),
      replicas: z.number().int().min(1).max(16).optional(),
    },
    { error: 'expected a JSON object' },
  )
  .strict();
export type InitRequest = z.infer<typeof initRequest>;

/**
 * Checks /init against itself and the live servers, and decides placement:
 * the one given in `servers`, or `replicas` per shard spread evenly over the
 * first N live servers. The primary of each shard is its least-burdened
 * replica, so primaries spread too.
 */
export function planInit(
  body: InitRequest,
  liveServers: readonly string[],
): { config: ClusterConfig; shards: ShardDef[]; placement: Placement[] } {
  const ids = new Set<string>();
  body.shards.forEach((s, i) => {
    if (ids.has(s.Shard_id))
      throw new DomainError('INVALID_INPUT', `shards[${i}].Shard_id`, `"${s.Shard_id}" is listed twice`);
    ids.add(s.Shard_id);
  });
  const overlap = ShardLayout.overlap(body.shards);
  if (overlap) {
    throw new DomainError(
      'INVALID_INPUT',
      'shards',
      `${overlap[0].Shard_id} and ${overlap[1].Shard_id} cover overlapping Stud_id ranges`,
    );
  }
  const live = new Set(liveServers);
  let shardServers: Map<string, string[]>;
  if (body.servers) {
    const names = Object.keys(body.servers);
    if (names.length !== body.N)
      throw new DomainError('INVALID_INPUT', 'servers', `names ${names.length} server(s) but N is ${body.N}`);
    shardServers = new Map();
    for (const [server, shardIds] of Object.entries(body.servers)) {
      if (!SERVER_ID_PATTERN.test(server)) throw new DomainError('INVALID_INPUT', `servers.${server}`, SERVER_ID_RULE);
      if (!live.has(server)) {
        throw new DomainError(
          'INVALID_INPUT',
          `servers.${server}`,
          `not a live server; the live servers are ${[...live].sort().join(', ') || 'none'}`,
        );
      }
      shardIds.forEach((shardId, i) => {
        if (!ids.has(shardId))
          throw new DomainError('INVALID_INPUT', `servers.${server}[${i}]`, `unknown Shard_id "${shardId}"`);
      });
      for (const shardId of new Set(shardIds))
        shardServers.set(shardId, [...(shardServers.get(shardId) ?? []), server]);
    }
    for (const s of body.shards) {
      if (!shardServers.has(s.Shard_id))
        throw new DomainError('INVALID_INPUT', 'servers', `no server holds shard ${s.Shard_id}`);
    }
  } else {
    if (body.N > liveServers.length) {
      throw new DomainError('INVALID_INPUT', 'N', `${body.N} servers asked for but ${liveServers.length} are live`);
    }
    const replicas = body.replicas ?? Math.min(DEFAULT_REPLICAS, body.N);
    if (replicas > body.N)
      throw new DomainError(
        'INVALID_INPUT',
        'replicas',
        `${replicas} replicas need at least ${replicas} servers, N is ${body.N}`,
      );
    const chosen = [...liveServers].sort().slice(0, body.N);
    shardServers = new Map();
    // Round-robin over the chosen servers: shard k starts at server k·replicas, so load stays even.
    body.shards.forEach((s, k) => {
      shardServers.set(
        s.Shard_id,
        Array.from({ length: replicas }, (_, r) => chosen[(k * replicas + r) % chosen.length] as string),
      );
    });
  }
  const primaries = new Map<string, number>();
  const placement: Placement[] = [];
  for (const s of body.shards) {
    const servers = shardServers.get(s.Shard_id) as string[];
    const primary = [...servers].sort(
      (a, b) => (primaries.get(a) ?? 0) - (primaries.get(b) ?? 0) || (a < b ? -1 : 1),
    )[0] as string;
    primaries.set(primary, (primaries.get(primary) ?? 0) + 1);
    for (const server of servers)
      placement.push({ Shard_id: s.Shard_id, Server_id: server, primary: server === primary });
  }
  const items = 1 + body.shards.length + placement.length;
  if (items > MAX_TRANSACTION_ITEMS) {
    throw new DomainError(
      'INVALID_INPUT',
      'shards',
      `shards × (replicas + 1) + 1 = ${items} exceeds ${MAX_TRANSACTION_ITEMS}, what one atomic /init can write`,
    );
  }
  const replicas = Math.max(...body.shards.map((s) => (shardServers.get(s.Shard_id) as string[]).length));
  return {
    config: { N: body.N, schema: body.schema, replicas: body.replicas ?? replicas },
    shards: body.shards,
    placement,
  };
}
