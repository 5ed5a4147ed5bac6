import type { Logger } from 'pino';
import type { LeaseTarget } from '#core/ports/lease.js';

/**
 * Self-registration: one heartbeat at start (so traffic can begin at once),
 * then one every `intervalMs`; the lease is given up on a clean shutdown.
 * A server that was removed shuts itself down rather than coming back. A
 * failed heartbeat is retried on the next tick; only the first failure of a
 * streak is logged, since the registry may simply be restarting.
 */
export class Registration {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly target: LeaseTarget,
    private readonly intervalMs: number,
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
      await this.target.leave();
    } catch (err) {
      this.log.warn({ err }, 'deregistration failed; the lease will expire instead');
    }
  }

  private async beat(): Promise<void> {
    try {
      if ((await this.target.beat()) === 'removed') {
        clearInterval(this.timer);
        this.log.info('removed from the fleet; shutting down');
        this.onRemoved();
        return;
      }
      if (this.failing) this.log.info('heartbeat recovered');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err }, 'heartbeat failed');
      this.failing = true;
    }
  }
}
