import type { RingStore } from '#core/aws/ring-store.js';
import type { LeaseTarget } from '#core/ports/lease.js';

/** The DynamoDB Ring table: a conditional update renews the lease; a tombstone (left by /rm) refuses it. */
export class RingLease implements LeaseTarget {
  constructor(
    private readonly ring: RingStore,
    private readonly id: string,
    private readonly address: string,
    private readonly weight: number,
    private readonly leaseMs: number,
  ) {}

  beat(): Promise<'ok' | 'removed'> {
    return this.ring.heartbeat(this.id, this.address, this.weight, this.leaseMs);
  }

  leave(): Promise<void> {
    return this.ring.deregister(this.id);
  }
}
