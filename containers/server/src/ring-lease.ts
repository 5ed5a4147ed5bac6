import type { RingStore } from '#core/aws/ring-store.js';
import type { LeaseTarget } from '#core/ports/lease.js';

/** The DynamoDB Ring table: a conditional update renews the lease; a tombstone (left by /rm) refuses it. */
export class RingLease implements LeaseTarget {
  /** Set while a heartbeat failed: its membership-version bump may not have been written, so the next one bumps. */
  private bumpOwed = false;

  constructor(
    private readonly ring: RingStore,
    private readonly id: string,
    private readonly address: string,
    private readonly weight: number,
    private readonly leaseMs: number,
  ) {}

  async beat(): Promise<'ok' | 'removed'> {
    try {
      const outcome = await this.ring.heartbeat(this.id, this.address, this.weight, this.leaseMs, this.bumpOwed);
      this.bumpOwed = false;
      return outcome;
    } catch (err) {
      this.bumpOwed = true;
      throw err;
    }
  }

  leave(): Promise<void> {
    return this.ring.deregister(this.id);
  }
}
