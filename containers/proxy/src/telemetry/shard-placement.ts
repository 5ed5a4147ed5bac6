/** Which servers hold one shard, as the proxy's copy of ShardT and MapT says. */
export interface ShardPlacement {
  readonly id: string;
  /** Lowest record id in the shard; it holds ids low .. low + size - 1. */
  readonly low: number;
  readonly size: number;
  /** Null while the shard has no primary (between a primary's loss and the shard manager's promotion). */
  readonly primary: string | null;
  /** Every server holding the shard, the primary included, in id order. */
  readonly servers: readonly string[];
}
