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

/** How the source's reads are going, for /status and /metrics. */
export interface MembershipStats {
  /** Failed reads since start (the last membership is kept through them). */
  readonly errors: number;
  /** Age of the last good read in ms: -1 before the first, always 0 for in-process sources. */
  readonly lastReadAgeMs: number;
}

/** Reading membership: what routing depends on. */
export interface MembershipSource {
  /** Starts watching; `onChange` gets the whole membership after every change. */
  start(onChange: (members: readonly Member[]) => void): Promise<void>;
  stop(): Promise<void>;
  stats(): MembershipStats;
}

/** Operator actions on membership (/rm and /add), kept apart from reading. */
export interface MembershipControl {
  /** Marks a member draining (no new requests anywhere); resolves once recorded. */
  drain(id: string): Promise<void>;
  /** Forgets a member for good: a later heartbeat from it is refused until it is allowed again. */
  remove(id: string): Promise<void>;
  /** Allows an id again after `remove` (an explicit /add of the same hostname). */
  allow(id: string): Promise<void>;
}
