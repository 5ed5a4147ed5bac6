import type { Logger } from 'pino';
import { RingStore } from '#core/membership/ring-store.js';
import type { Member, MembershipSource } from '#core/ports/membership.js';

/** Back-off after failed reads: doubling from the refresh interval up to this. */
const MAX_BACKOFF_MS = 5000;

/**
 * Membership from the DynamoDB Ring table, read every `refreshMs`. Every
 * proxy replica reads the same items and so builds the same tables.
 *
 * A failed or throttled read changes nothing: the proxy keeps routing with
 * the last membership it read (leases are not expired against stale data),
 * counts the error, and retries with back-off. It never crashes and never
 * empties the ring because DynamoDB was unreachable.
 */
export class DynamoMembership implements MembershipSource {
  private onChange: ((members: readonly Member[]) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fingerprint = '';
  private consecutiveErrors = 0;
  private stopped = false;
  errors = 0;
  lastSuccessAt = 0;

  constructor(
    private readonly ring: RingStore,
    private readonly refreshMs: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async start(onChange: (members: readonly Member[]) => void): Promise<void> {
    this.onChange = onChange;
    await this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.onChange = undefined;
  }

  async drain(id: string): Promise<void> {
    await this.ring.drain(id);
    await this.refreshNow();
  }

  async remove(id: string): Promise<void> {
    await this.ring.remove(id);
    await this.refreshNow();
  }

  async allow(id: string): Promise<void> {
    await this.ring.allow(id);
  }

  stats(): Record<string, number> {
    return { errors: this.errors, lastSuccessAgeMs: this.lastSuccessAt ? this.now() - this.lastSuccessAt : -1 };
  }

  /** Reads at once (after an admin action) instead of waiting for the next tick. */
  private async refreshNow(): Promise<void> {
    clearTimeout(this.timer);
    await this.refresh();
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    let delay = this.refreshMs;
    try {
      const members = RingStore.liveMembers(await this.ring.scan(), this.now());
      this.lastSuccessAt = this.now();
      if (this.consecutiveErrors > 0) this.log.info({ after: this.consecutiveErrors }, 'ring table readable again');
      this.consecutiveErrors = 0;
      const fingerprint = JSON.stringify(members);
      if (fingerprint !== this.fingerprint) {
        this.fingerprint = fingerprint;
        this.onChange?.(members);
      }
    } catch (err) {
      this.errors++;
      this.consecutiveErrors++;
      delay = Math.min(this.refreshMs * 2 ** this.consecutiveErrors, MAX_BACKOFF_MS);
      // First failure of a streak at warn, the rest at debug: an outage should not flood the log.
      const level = this.consecutiveErrors === 1 ? 'warn' : 'debug';
      this.log[level](
        { err, retryInMs: delay, consecutive: this.consecutiveErrors },
        'reading the ring table failed; keeping the last membership',
      );
    }
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.refresh(), delay).unref();
    }
  }
}
