import type {
  Member,
  MemberStatus,
  MembershipControl,
  MembershipSource,
  MembershipStats,
} from '#core/ports/membership.js';

interface Lease {
  readonly id: string;
  address: string;
  weight: number;
  status: MemberStatus;
  expiresAt: number;
}

const IN_PROCESS_STATS: MembershipStats = Object.freeze({ errors: 0, lastReadAgeMs: 0 });

export type HeartbeatResult = 'ok' | 'removed' | 'full';

/**
 * Membership kept by the proxy itself, for local runs: servers heartbeat into
 * the admin API and hold a lease; a missed lease drops them. (On AWS the Ring
 * table in DynamoDB plays this part, so every proxy replica sees the same
 * servers.) Only changes are announced — a heartbeat that merely extends a
 * lease rebuilds nothing.
 */
export class LeaseRegistry implements MembershipSource, MembershipControl {
  private readonly leases = new Map<string, Lease>();
  /** Ids removed by /rm: their heartbeats are refused so they cannot come back by themselves. */
  private readonly removed = new Set<string>();
  private onChange: ((members: readonly Member[]) => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly leaseMs: number,
    private readonly maxServers: number,
    private readonly now: () => number = Date.now,
  ) {}

  async start(onChange: (members: readonly Member[]) => void): Promise<void> {
    this.onChange = onChange;
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, this.leaseMs / 4)).unref();
    this.emit();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    this.onChange = undefined;
  }

  /** In-process: never stale, never fails to read. */
  stats(): MembershipStats {
    return IN_PROCESS_STATS;
  }

  /** Registers or renews a server's lease. */
  heartbeat(id: string, address: string, weight: number): HeartbeatResult {
    if (this.removed.has(id)) return 'removed';
    const lease = this.leases.get(id);
    const expiresAt = this.now() + this.leaseMs;
    if (!lease) {
      if (this.leases.size >= this.maxServers) return 'full';
      this.leases.set(id, { id, address, weight, status: 'active', expiresAt });
      this.emit();
      return 'ok';
    }
    lease.expiresAt = expiresAt;
    if (lease.address !== address || lease.weight !== weight) {
      lease.address = address;
      lease.weight = weight;
      this.emit();
    }
    return 'ok';
  }

  /** A server leaving cleanly. */
  deregister(id: string): boolean {
    const existed = this.leases.delete(id);
    if (existed) this.emit();
    return existed;
  }

  statusOf(id: string): MemberStatus | undefined {
    return this.leases.get(id)?.status;
  }

  async drain(id: string): Promise<void> {
    const lease = this.leases.get(id);
    if (lease && lease.status !== 'draining') {
      lease.status = 'draining';
      this.emit();
    }
  }

  async remove(id: string): Promise<void> {
    this.removed.add(id);
    this.deregister(id);
  }

  async allow(id: string): Promise<void> {
    this.removed.delete(id);
  }

  members(): Member[] {
    return [...this.leases.values()].map(({ id, address, weight, status }) => ({ id, address, weight, status }));
  }

  private sweep(): void {
    const now = this.now();
    let changed = false;
    for (const lease of this.leases.values()) {
      if (lease.expiresAt <= now) {
        this.leases.delete(lease.id);
        changed = true;
      }
    }
    if (changed) this.emit();
  }

  private emit(): void {
    this.onChange?.(this.members());
  }
}
