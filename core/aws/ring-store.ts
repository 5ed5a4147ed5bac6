import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Member, MemberStatus } from '../ports/membership.js';
import { byId } from '../util/by-id.js';
import { ControlVersionStore } from './control-version.js';
import { scanAll } from './scan-all.js';
import { RING_TTL_ATTRIBUTE } from './tables.js';

/** How long a removed server's tombstone keeps it from heartbeating back in. */
export const TOMBSTONE_TTL_MS = 60 * 60 * 1000;

/** One Ring item as stored. */
export interface RingItem {
  readonly id: string;
  readonly address?: string;
  readonly weight?: number;
  readonly status?: MemberStatus;
  readonly lastHeartbeatMs?: number;
  readonly leaseExpiresAtMs?: number;
  /** Set on tombstones left by /rm. */
  readonly removed?: boolean;
}

export type HeartbeatOutcome = 'ok' | 'removed';

/**
 * The Ring table: servers heartbeat their lease into it, proxies scan it.
 * A heartbeat never changes a member's status (an operator's "draining"
 * survives it) and never revives a tombstoned id.
 */
export class RingStore {
  /** The membership version in this table: every change with a writer bumps it, proxies poll it. */
  readonly versions: ControlVersionStore;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {
    this.versions = new ControlVersionStore(doc, tableName);
  }

  /**
   * Renews (or takes) a lease: one conditional UpdateItem. A renewal changes
   * nothing a proxy routes with, so it does not bump the membership version;
   * a registration (no lease, or a lapsed one), a changed address or weight,
   * or `forceBump` (the caller's last bump failed) does, after the write.
   */
  async heartbeat(
    id: string,
    address: string,
    weight: number,
    leaseMs: number,
    forceBump = false,
  ): Promise<HeartbeatOutcome> {
    const now = this.now();
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression:
            'SET address = :address, weight = :weight, lastHeartbeatMs = :now, leaseExpiresAtMs = :lease, #ttl = :ttl, #status = if_not_exists(#status, :active)',
          ConditionExpression: 'attribute_not_exists(removed)',
          ExpressionAttributeNames: { '#status': 'status', '#ttl': RING_TTL_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':address': address,
            ':weight': weight,
            ':now': now,
            ':lease': now + leaseMs,
            ':ttl': Math.ceil((now + leaseMs) / 1000) + 60,
            ':active': 'active',
          },
          // Free: ReturnValues costs no extra units, and tells a renewal from a registration.
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      const old = res.Attributes as Partial<RingItem> | undefined;
      const joined = !old?.address || (old.leaseExpiresAtMs ?? 0) <= now;
      if (forceBump || joined || old.address !== address || old.weight !== weight) await this.versions.bump('ring');
      return 'ok';
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'removed';
      throw err;
    }
  }

  /** A clean shutdown: the item goes, unless it is a tombstone (which must stay). */
  async deregister(id: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { id },
          ConditionExpression: 'attribute_not_exists(removed)',
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return;
    }
    await this.versions.bump('ring');
  }

  async drain(id: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: 'SET #status = :draining',
          ConditionExpression: 'attribute_exists(id) AND attribute_not_exists(removed)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':draining': 'draining' },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return;
    }
    await this.versions.bump('ring');
  }

  /** Replaces the member with a tombstone that expires after TOMBSTONE_TTL_MS. */
  async remove(id: string): Promise<void> {
    const now = this.now();
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          id,
          removed: true,
          leaseExpiresAtMs: 0,
          [RING_TTL_ATTRIBUTE]: Math.ceil((now + TOMBSTONE_TTL_MS) / 1000),
        },
      }),
    );
    await this.versions.bump('ring');
  }

  /** Clears a tombstone so the id may register again. */
  async allow(id: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({ TableName: this.tableName, Key: { id }, ConditionExpression: 'attribute_exists(removed)' }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return;
    }
    await this.versions.bump('ring');
  }

  /** Every item, strongly consistent (the table holds one small item per server, and the version item). */
  scan(): Promise<RingItem[]> {
    return scanAll<RingItem>(this.doc, this.tableName);
  }

  /** Every item, eventually consistent: half the read units, for the lease sweep (see DynamoMembership). */
  scanEventually(): Promise<RingItem[]> {
    return scanAll<RingItem>(this.doc, this.tableName, false);
  }

  /** Live members: not tombstoned, lease not expired (TTL deletion is lazy, so expiry is checked here). */
  static liveMembers(items: readonly RingItem[], nowMs: number): Member[] {
    const members: Member[] = [];
    for (const item of items) {
      if (item.removed || !item.address || (item.leaseExpiresAtMs ?? 0) <= nowMs) continue;
      members.push({ id: item.id, address: item.address, weight: item.weight ?? 1, status: item.status ?? 'active' });
    }
    return members.sort(byId);
  }
}
