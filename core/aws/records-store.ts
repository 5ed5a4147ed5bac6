import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { DuplicateIdError, NotPrimaryError, RecordNotFoundError } from '../records/errors.js';
import { KEY_COLUMN, MAX_ROWS_PER_SHARD_WRITE, type Row } from '../records/schema.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Attempts for a transaction that lost a race on the shard's ShardT item. */
const TRANSACTION_CONFLICT_ATTEMPTS = 8;
/** Jittered back-off base for those retries (full jitter: 0..base·2^attempt ms). */
const CONFLICT_BACKOFF_MS = 5;

/**
 * The sharded rows. Every mutation is one DynamoDB transaction of three parts:
 *   1. a check that the writing server is still the shard's primary in MapT
 *      (fencing: a demoted primary can never commit, whatever it believes);
 *   2. the rows themselves, conditional on existence as the operation needs;
 *   3. ShardT's valid_idx advanced by the number of committed changes.
 * So a write is all-or-nothing per shard, and once DynamoDB acknowledges it,
 * no server's death can lose it: the rows are not on the servers.
 */
export class RecordsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: { readonly shards: string; readonly map: string; readonly records: string },
  ) {}

  /** Inserts rows (new record ids only) into one shard. */
  async insert(shardId: string, serverId: string, rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length > MAX_ROWS_PER_SHARD_WRITE) {
      throw new RangeError(`at most ${MAX_ROWS_PER_SHARD_WRITE} rows per shard write, got ${rows.length}`);
    }
    const puts: TransactItem[] = rows.map((row) => ({
      Put: {
        TableName: this.tables.records,
        Item: { ...row, Shard_id: shardId, version: 0 },
        ConditionExpression: 'attribute_not_exists(Stud_id)',
      },
    }));
    await this.transact(shardId, serverId, puts, rows.length, (index) => {
      throw new DuplicateIdError(rows[index]?.[KEY_COLUMN] as number);
    });
  }

  /** Changes columns of one record; its version goes up by exactly one per committed update. */
  async update(shardId: string, serverId: string, recordId: number, patch: Row): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':one': 1 };
    const sets = Object.entries(patch).map(([column, value], i) => {
      names[`#c${i}`] = column;
      values[`:v${i}`] = value;
      return `#c${i} = :v${i}`;
    });
    const update: TransactItem = {
      Update: {
        TableName: this.tables.records,
        Key: { Shard_id: shardId, Stud_id: recordId },
        UpdateExpression: `SET ${[...sets, 'version = version + :one'].join(', ')}`,
        ConditionExpression: 'attribute_exists(Stud_id)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
    await this.transact(shardId, serverId, [update], 1, () => {
      throw new RecordNotFoundError(recordId);
    });
  }

  async remove(shardId: string, serverId: string, recordId: number): Promise<void> {
    const remove: TransactItem = {
      Delete: {
        TableName: this.tables.records,
        Key: { Shard_id: shardId, Stud_id: recordId },
        ConditionExpression: 'attribute_exists(Stud_id)',
      },
    };
    await this.transact(shardId, serverId, [remove], 1, () => {
      throw new RecordNotFoundError(recordId);
    });
  }

  /** The shard's committed-change counter (strongly consistent): the version the read cache keys on. */
  async validIdx(shardId: string): Promise<number | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tables.shards,
        Key: { Shard_id: shardId },
        ProjectionExpression: 'valid_idx',
        ConsistentRead: true,
      }),
    );
    return res.Item ? ((res.Item.valid_idx as number | undefined) ?? 0) : undefined;
  }

  /** Rows of one shard with low <= Stud_id <= high, in record id order, strongly consistent. */
  async readRange(shardId: string, low: number, high: number): Promise<Row[]> {
    const rows: Row[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tables.records,
          KeyConditionExpression: 'Shard_id = :shard AND Stud_id BETWEEN :low AND :high',
          ExpressionAttributeValues: { ':shard': shardId, ':low': low, ':high': high },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const { Shard_id: _shard, version: _version, ...row } = item;
        rows.push(row as Row);
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return rows;
  }

  /**
   * Runs primary check + `items` + valid_idx in one transaction. On a
   * cancelled condition, calls `onItemConflict` with the index into `items`.
   */
  private async transact(
    shardId: string,
    serverId: string,
    items: TransactItem[],
    committedChanges: number,
    onItemConflict: (index: number) => never,
  ): Promise<void> {
    const TransactItems: TransactItem[] = [
      {
        ConditionCheck: {
          TableName: this.tables.map,
          Key: { Shard_id: shardId, Server_id: serverId },
          ConditionExpression: '#primary = :true',
          ExpressionAttributeNames: { '#primary': 'primary' },
          ExpressionAttributeValues: { ':true': true },
        },
      },
      ...items,
      {
        Update: {
          TableName: this.tables.shards,
          Key: { Shard_id: shardId },
          UpdateExpression: 'ADD valid_idx :n',
          ConditionExpression: 'attribute_exists(Shard_id)',
          ExpressionAttributeValues: { ':n': committedChanges },
        },
      },
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        await this.doc.send(new TransactWriteCommand({ TransactItems }));
        return;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') throw new NotPrimaryError(shardId, serverId);
        const conflict = reasons.findIndex((r, i) => i > 0 && i <= items.length && r.Code === 'ConditionalCheckFailed');
        if (conflict > 0) onItemConflict(conflict - 1);
        // Every write to a shard touches its ShardT item, so concurrent writers collide there
        // (TransactionConflict). A cancelled transaction committed nothing: try it again.
        const contended = reasons.some((r) => r.Code === 'TransactionConflict');
        if (!contended || attempt >= TRANSACTION_CONFLICT_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * CONFLICT_BACKOFF_MS * 2 ** attempt));
      }
    }
  }
}
