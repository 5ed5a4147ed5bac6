/**
 * Where the proxy learns which servers exist. Locally that is the proxy's own
 * lease registry (servers heartbeat into its admin port); on AWS it is the
 * DynamoDB Ring table. Every proxy replica reading the same source builds the
 * same ring, because tables are derived from membership, never stored.
 */
export type MemberStatus = 'active' | 'draining';

export interface Member {
  readonly id: string;
  /** Origin to dial, e.g. `http://10.0.1.23:8080`. */
  readonly address: string;
  readonly weight: number;
  readonly status: MemberStatus;
}

export interface MembershipSource {
  /** Starts watching; `onChange` gets the whole membership after every change. */
  start(onChange: (members: readonly Member[]) => void): Promise<void>;
  /** Marks a member draining (no new requests anywhere); resolves once recorded. */
  drain(id: string): Promise<void>;
  /** Forgets a member for good: a later heartbeat from it is refused until it is added again. */
  remove(id: string): Promise<void>;
  /** Allows an id again after `remove` (an explicit /add of the same hostname). */
  allow(id: string): Promise<void>;
  stop(): Promise<void>;
  /** Counters for /status and /metrics (errors, staleness), where the source has any. */
  stats?(): Record<string, number>;
}
