import type { RecordsStore } from '#core/aws/records-store.js';
import { DomainError } from '#core/errors/domain-error.js';
import { KEY_COLUMN, MAX_RECORD_ID, type Row } from '#core/records/schema.js';
import { lowerBound } from '#core/util/lower-bound.js';

/** Shards larger than this are not cached: their reads go to DynamoDB each time. */
export const MAX_CACHED_SHARD_ROWS = 100_000;

interface Entry {
  readonly validIdx: number;
  /** record ids in ascending order, parallel to `rows`, for binary search. */
  readonly ids: Float64Array;
  readonly rows: readonly Row[];
}

/**
 * A replica's cache of its shards' rows, keyed by ShardT's valid_idx. Every
 * committed change to a shard advances valid_idx in the same transaction, so
 * a read that finds the counter where the cache was taken can answer from
 * memory with one strongly consistent GetItem instead of a Query; otherwise it
 * reloads the shard first. The counter is read before the reload's Query, so
 * cached rows are never older than the counter they are filed under, and a
 * read never misses a change committed before it began.
 */
export class ShardReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry | undefined>>();

  constructor(
    private readonly store: RecordsStore,
    private readonly maxRows = MAX_CACHED_SHARD_ROWS,
  ) {}

  async read(shardId: string, low: number, high: number): Promise<Row[]> {
    const validIdx = await this.store.validIdx(shardId);
    if (validIdx === undefined) throw new DomainError('NOT_FOUND', 'Shard_id', `no shard ${shardId}`);
    let entry = this.entries.get(shardId);
    if (entry === undefined || entry.validIdx !== validIdx) {
      entry = await this.reload(shardId, validIdx);
      if (entry === undefined) return this.store.readRange(shardId, low, high);
    }
    return slice(entry, low, high);
  }

  /** One reload per shard and counter at a time; concurrent readers share it. */
  private reload(shardId: string, validIdx: number): Promise<Entry | undefined> {
    const key = `${shardId}@${validIdx}`;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = (async () => {
        const rows = await this.store.readRange(shardId, 0, MAX_RECORD_ID);
        if (rows.length > this.maxRows) {
          this.entries.delete(shardId);
          return undefined;
        }
        const entry: Entry = { validIdx, ids: Float64Array.from(rows, (r) => r[KEY_COLUMN] as number), rows };
        const current = this.entries.get(shardId);
        if (current === undefined || current.validIdx <= validIdx) this.entries.set(shardId, entry);
        return entry;
      })().finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }
}

function slice(entry: Entry, low: number, high: number): Row[] {
  const start = lowerBound(entry.ids, low);
  const end = lowerBound(entry.ids, high + 1);
  return entry.rows.slice(start, end);
}
