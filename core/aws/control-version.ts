import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/**
 * The Ring table's reserved item holding the control plane's versions. Its id
 * cannot clash with a server's (task ids and local ids never start with '#'),
 * and it has no address, so RingStore.liveMembers never counts it.
 */
export const VERSION_ITEM_ID = '#version';

export type VersionKind = 'ring' | 'cluster';

/** What one GetItem of the version item tells a proxy. */
export interface ControlVersions {
  /** Bumped by every membership change that has a writer: registration, address change, drain, remove, allow, leave, and a lapse noticed by the sweep. */
  readonly ring: number;
  /** Bumped after every committed change of ShardT/MapT's shape: /init, /add, /rm, and the shard manager's placement changes. */
  readonly cluster: number;
  /** The proxy holding the lease-sweeper role, and until when (0: no one yet). */
  readonly sweeper: string;
  readonly sweeperUntilMs: number;
}

/**
 * The membership version: one small item (under 4 KB, so a strongly
 * consistent GetItem costs one read unit whatever the fleet's size) that
 * every proxy polls instead of scanning the Ring, ShardT and MapT. A change is
 * written first and the version bumped after it, so a proxy that sees the new
 * version and then reads the tables sees the change. A bump lost to a crash
 * between the two writes is caught by the proxies' slow full re-read.
 */
export class ControlVersionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async read(): Promise<ControlVersions> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { id: VERSION_ITEM_ID }, ConsistentRead: true }),
    );
    const item = res.Item ?? {};
    return {
      ring: Number(item.ring ?? 0),
      cluster: Number(item.cluster ?? 0),
      sweeper: String(item.sweeper ?? ''),
      sweeperUntilMs: Number(item.sweeperUntilMs ?? 0),
    };
  }

  /** Atomically adds one to `kind`'s version (an ADD never conflicts); the new value. */
  async bump(kind: VersionKind): Promise<number> {
    const res = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id: VERSION_ITEM_ID },
        UpdateExpression: 'ADD #kind :one',
        ExpressionAttributeNames: { '#kind': kind },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(res.Attributes?.[kind] ?? 0);
  }

  /**
   * Takes or renews the lease-sweeper role for `me` until `untilMs`, if no
   * one else holds it at `nowMs`: of proxies racing for it exactly one wins.
   * (Clocks of a few seconds' skew can give two sweepers for a moment, which
   * costs a duplicate scan and bump, nothing more.)
   */
  async claimSweeper(me: string, nowMs: number, untilMs: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: VERSION_ITEM_ID },
          UpdateExpression: 'SET sweeper = :me, sweeperUntilMs = :until',
          ConditionExpression: 'attribute_not_exists(sweeperUntilMs) OR sweeperUntilMs < :now OR sweeper = :me',
          ExpressionAttributeValues: { ':me': me, ':now': nowMs, ':until': untilMs },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /** Gives the sweeper role up (a proxy stopping cleanly), so another proxy takes it at its next poll. */
  async releaseSweeper(me: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: VERSION_ITEM_ID },
          UpdateExpression: 'SET sweeperUntilMs = :zero',
          ConditionExpression: 'sweeper = :me',
          ExpressionAttributeValues: { ':me': me, ':zero': 0 },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
