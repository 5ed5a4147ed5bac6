/** One shard: record ids from Stud_id_low (inclusive) to Stud_id_low + Shard_size (exclusive). */
export interface ShardDef {
  readonly Shard_id: string;
  readonly Stud_id_low: number;
  readonly Shard_size: number;
}

/**
 * The shards in record id order, for finding the shard of an id and the shards
 * a range overlaps with a binary search.
 */
export class ShardLayout {
  readonly shards: readonly ShardDef[];

  constructor(shards: readonly ShardDef[]) {
    this.shards = [...shards].sort((a, b) => a.Stud_id_low - b.Stud_id_low);
  }

  /** The shard holding `recordId`, or undefined when no shard covers it. */
  shardOf(recordId: number): ShardDef | undefined {
    const shards = this.shards;
    let lo = 0;
    let hi = shards.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = shards[mid] as ShardDef;
      if (recordId < s.Stud_id_low) hi = mid - 1;
      else if (recordId >= s.Stud_id_low + s.Shard_size) lo = mid + 1;
      else return s;
    }
    return undefined;
  }

  /** Shards overlapping [low, high] (inclusive), each with the part of the range it holds. */
  overlapping(low: number, high: number): { shard: ShardDef; low: number; high: number }[] {
    const out: { shard: ShardDef; low: number; high: number }[] = [];
    for (const shard of this.shards) {
      const end = shard.Stud_id_low + shard.Shard_size - 1;
      if (end < low || shard.Stud_id_low > high) continue;
      out.push({ shard, low: Math.max(low, shard.Stud_id_low), high: Math.min(high, end) });
    }
    return out;
  }

  /** The first pair of shards whose ranges overlap, if any. */
  static overlap(shards: readonly ShardDef[]): [ShardDef, ShardDef] | undefined {
    const sorted = [...shards].sort((a, b) => a.Stud_id_low - b.Stud_id_low);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1] as ShardDef;
      const cur = sorted[i] as ShardDef;
      if (prev.Stud_id_low + prev.Shard_size > cur.Stud_id_low) return [prev, cur];
    }
    return undefined;
  }
}
