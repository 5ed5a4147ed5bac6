import type { Logger } from 'pino';
import type { RingStore } from '#core/membership/ring-store.js';
import type { Registration } from './registration.js';

/**
 * Self-registration into the DynamoDB Ring table: a heartbeat every
 * `intervalMs` renews a lease of `leaseMs`; a clean shutdown deletes the
 * item. A tombstone (left by /rm) refuses the heartbeat, and the server
 * shuts itself down rather than coming back.
 */
export class DynamoRegistration implements Registration {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly ring: RingStore,
    private readonly id: string,
    private readonly address: string,
    private readonly weight: number,
    private readonly intervalMs: number,
    private readonly leaseMs: number,
    private readonly log: Logger,
    private readonly onRemoved: () => void,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    try {
      await this.ring.deregister(this.id);
    } catch (err) {
      this.log.warn({ err }, 'deregistration failed; the lease will expire instead');
    }
  }

  private async beat(): Promise<void> {
    try {
      if ((await this.ring.heartbeat(this.id, this.address, this.weight, this.leaseMs)) === 'removed') {
        clearInterval(this.timer);
        this.log.info('removed from the fleet; shutting down');
        this.onRemoved();
        return;
      }
      if (this.failing) this.log.info('heartbeat recovered');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'heartbeat to the ring table failed');
      this.failing = true;
    }
  }
}
