import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { AlreadyInitializedError } from '../records/errors.js';
import type { Schema } from '../records/schema.js';
import type { ShardDef } from '../records/shard-layout.js';
import type { ControlVersionStore } from './control-version.js';
import { scanAll } from './scan-all.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** ShardT's reserved item holding the cluster configuration (N, schema, replicas). */
export const CONFIG_SHARD_ID = '#config';
/** DynamoDB's TransactWriteItems limit; /init is one transaction, so its items must fit. */
export const MAX_TRANSACTION_ITEMS = 100;

export interface ClusterConfig {
  readonly N: number;
  readonly schema: Schema;
  /** Replicas per shard the shard manager maintains. */
  readonly replicas: number;
}

export interface ShardState extends ShardDef {
  /** Committed writes to the shard (rows written, updates, deletes). */
  readonly valid_idx: number;
  /** Bumped by every placement change; changes are conditional on the version they were decided at. */
  readonly placement_version: number;
}

/** A MapT row: a server serving a shard, and whether it is the primary. */
export interface Placement {
  readonly Shard_id: string;
  readonly Server_id: string;
  readonly primary: boolean;
}

/**
 * A change of the database's shape by /add (new shards, replicas on new
 * servers) or /rm (servers' replicas re-placed, new primaries), written as
 * one transaction: all of it or none.
 */
export interface Reshape {
  /** The configuration's N as read, and after the change. */
  readonly N: { readonly from: number; readonly to: number };
  readonly newShards: readonly ShardDef[];
  /** Existing shards whose placement changes, each at the placement_version the change was decided on. */
  readonly touched: readonly { readonly Shard_id: string; readonly version: number }[];
  /** MapT rows written (new replicas, and existing rows whose primary flag changes). */
  readonly put: readonly Placement[];
  /** MapT rows deleted (the removed servers'). */
  readonly remove: readonly { readonly Shard_id: string; readonly Server_id: string }[];
}

/** Items one Reshape writes; it must fit in one transaction. */
export function reshapeItems(change: Reshape): number {
  return 1 + change.newShards.length + change.touched.length + change.put.length + change.remove.length;
}

export interface ClusterView {
  readonly config: ClusterConfig;
  readonly shards: readonly ShardState[];
  readonly map: readonly Placement[];
}

/**
 * ShardT and MapT: the cluster configuration, the shards, and which servers
 * serve which shard. Every change is a conditional write or a transaction,
 * so when several proxies act on the same observation only one succeeds.
 */
export class ClusterStore {
  /**
   * @param versions the membership version item, when there is one
   * (MEMBERSHIP=dynamodb): every committed change of the cluster's shape is
   * followed by a bump of its `cluster` version, so proxies re-read ShardT and
   * MapT only when they changed.
   */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tables: { readonly shards: string; readonly map: string },
    private readonly versions?: ControlVersionStore,
  ) {}

  /** Bumps that failed after a committed change (those proxies pick up at their next full read). */
  versionBumpFailures = 0;

  /**
   * Best effort on purpose: the change is committed, so failing the caller
   * would report a change that happened as one that did not. A lost bump
   * delays the proxies' re-read to their slow full read (ClusterCache).
   */
  private async changed(): Promise<void> {
    try {
      await this.versions?.bump('cluster');
    } catch {
      this.versionBumpFailures++;
    }
  }

  /** Writes configuration, shards and placement in one transaction; refuses if already initialized. */
  async init(config: ClusterConfig, shards: readonly ShardDef[], placement: readonly Placement[]): Promise<void> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.shards,
                Item: { Shard_id: CONFIG_SHARD_ID, ...config },
                ConditionExpression: 'attribute_not_exists(Shard_id)',
              },
            },
            ...shards.map((s) => ({
              Put: {
                TableName: this.tables.shards,
                Item: newShardItem(s),
              },
            })),
            ...placement.map((p) => ({ Put: { TableName: this.tables.map, Item: { ...p } } })),
          ],
        }),
      );
    } catch (err) {
      if (
        err instanceof TransactionCanceledException &&
        err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      ) {
        throw new AlreadyInitializedError();
      }
      throw err;
    }
    await this.changed();
  }

  /**
   * Applies `change` in one transaction, conditional on N and on every
   * touched shard's placement_version as read, and advances those versions:
   * false (nothing written) when anything changed meanwhile, e.g. the shard
   * manager placed a replica.
   */
  async reshape(change: Reshape): Promise<boolean> {
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tables.shards,
          Key: { Shard_id: CONFIG_SHARD_ID },
          UpdateExpression: 'SET #n = :to',
          ConditionExpression: '#n = :from',
          ExpressionAttributeNames: { '#n': 'N' },
          ExpressionAttributeValues: { ':from': change.N.from, ':to': change.N.to },
        },
      },
      ...change.newShards.map(
        (s): TransactItem => ({
          Put: {
            TableName: this.tables.shards,
            Item: newShardItem(s),
            ConditionExpression: 'attribute_not_exists(Shard_id)',
          },
        }),
      ),
      ...change.touched.map(
        (t): TransactItem => ({
          Update: {
            TableName: this.tables.shards,
            Key: { Shard_id: t.Shard_id },
            UpdateExpression: 'SET placement_version = :next',
            ConditionExpression: 'placement_version = :version',
            ExpressionAttributeValues: { ':version': t.version, ':next': t.version + 1 },
          },
        }),
      ),
      ...change.put.map((p): TransactItem => ({ Put: { TableName: this.tables.map, Item: { ...p } } })),
      ...change.remove.map((k): TransactItem => ({ Delete: { TableName: this.tables.map, Key: { ...k } } })),
    ];
    if (items.length > MAX_TRANSACTION_ITEMS) {
      throw new RangeError(`a reshape of ${items.length} items exceeds the ${MAX_TRANSACTION_ITEMS}-item transaction`);
    }
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      if (err instanceof TransactionCanceledException) return false;
      throw err;
    }
    await this.changed();
    return true;
  }

  /** The whole cluster state, strongly consistent; undefined before /init. */
  async load(): Promise<ClusterView | undefined> {
    const config = await this.doc.send(
      new GetCommand({ TableName: this.tables.shards, Key: { Shard_id: CONFIG_SHARD_ID }, ConsistentRead: true }),
    );
    if (!config.Item) return undefined;
    const [shards, map] = await Promise.all([
      scanAll<ShardState>(this.doc, this.tables.shards),
      scanAll<Placement>(this.doc, this.tables.map),
    ]);
    const { N, schema, replicas } = config.Item as ClusterConfig;
    return {
      config: { N, schema, replicas },
      shards: shards.filter((s) => s.Shard_id !== CONFIG_SHARD_ID),
      map,
    };
  }

  /**
   * Makes `next` the primary of `shardId` in place of `previous`, if the
   * shard's placement is still at `version`.
   */
  promote(shardId: string, version: number, previous: string | undefined, next: string): Promise<boolean> {
    const flag = (serverId: string, from: boolean, to: boolean, mustExist: boolean): TransactItem => ({
      Update: {
        TableName: this.tables.map,
        Key: { Shard_id: shardId, Server_id: serverId },
        UpdateExpression: 'SET #primary = :to',
        ConditionExpression: `${mustExist ? 'attribute_exists(Server_id) AND ' : ''}#primary = :from`,
        ExpressionAttributeNames: { '#primary': 'primary' },
        ExpressionAttributeValues: { ':from': from, ':to': to },
      },
    });
    return this.placementChange(shardId, version, [
      ...(previous ? [flag(previous, true, false, false)] : []),
      flag(next, false, true, true),
    ]);
  }

  /** Places a new (non-primary) replica, if the shard's placement is still at `version`. */
  addReplica(shardId: string, version: number, serverId: string): Promise<boolean> {
    return this.placementChange(shardId, version, [
      {
        Put: {
          TableName: this.tables.map,
          Item: { Shard_id: shardId, Server_id: serverId, primary: false },
          ConditionExpression: 'attribute_not_exists(Server_id)',
        },
      },
    ]);
  }

  /** Drops a non-primary replica (a dead server's), if the shard's placement is still at `version`. */
  dropReplica(shardId: string, version: number, serverId: string): Promise<boolean> {
    return this.placementChange(shardId, version, [
      {
        Delete: {
          TableName: this.tables.map,
          Key: { Shard_id: shardId, Server_id: serverId },
          ConditionExpression: '#primary = :false',
          ExpressionAttributeNames: { '#primary': 'primary' },
          ExpressionAttributeValues: { ':false': false },
        },
      },
    ]);
  }

  /**
   * One placement change as a transaction with a compare-and-set on the
   * shard's placement_version: of several proxies that decided a change on
   * the same observation, exactly one commits, and a proxy acting on an older
   * observation commits nothing. False when any condition did not hold.
   */
  private async placementChange(shardId: string, version: number, items: TransactItem[]): Promise<boolean> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tables.shards,
                Key: { Shard_id: shardId },
                UpdateExpression: 'SET placement_version = :next',
                ConditionExpression: 'placement_version = :version',
                ExpressionAttributeValues: { ':version': version, ':next': version + 1 },
              },
            },
            ...items,
          ],
        }),
      );
    } catch (err) {
      if (err instanceof TransactionCanceledException) return false;
      throw err;
    }
    await this.changed();
    return true;
  }
}

/** A shard as ShardT holds it when it is created: no rows acknowledged yet, placement never changed. */
function newShardItem(s: ShardDef): Record<string, unknown> {
  return {
    Shard_id: s.Shard_id,
    Stud_id_low: s.Stud_id_low,
    Shard_size: s.Shard_size,
    valid_idx: 0,
    placement_version: 0,
  };
}
