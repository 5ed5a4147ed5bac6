import type { Logger } from 'pino';
import { RingStore } from '#core/aws/ring-store.js';
import type { Member, MembershipControl, MembershipSource, MembershipStats } from '#core/ports/membership.js';
import { BackoffPoller } from './backoff-poller.js';

/**
 * Membership from the DynamoDB Ring table, read every `refreshMs`. Every
 * proxy replica reads the same items and so builds the same tables.
 *
 * A failed or throttled read changes nothing: the proxy keeps routing with
 * the last membership it read (leases are not expired against stale data),
 * counts the error, and retries with back-off. It never crashes and never
 * empties the ring because DynamoDB was unreachable.
 */
export class DynamoMembership implements MembershipSource, MembershipControl {
  private onChange: ((members: readonly Member[]) => void) | undefined;
  private fingerprint = '';
  private readonly poller: BackoffPoller;

  constructor(
    private readonly ring: RingStore,
    refreshMs: number,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.poller = new BackoffPoller(() => this.read(), refreshMs, 'the ring table', log, now);
  }

  async start(onChange: (members: readonly Member[]) => void): Promise<void> {
    this.onChange = onChange;
    await this.poller.pollNow();
  }

  async stop(): Promise<void> {
    this.poller.stop();
    this.onChange = undefined;
  }

  async drain(id: string): Promise<void> {
    await this.ring.drain(id);
    await this.poller.pollNow();
  }

  async remove(id: string): Promise<void> {
    await this.ring.remove(id);
    await this.poller.pollNow();
  }

  async allow(id: string): Promise<void> {
    await this.ring.allow(id);
  }

  stats(): MembershipStats {
    return { errors: this.poller.errors, lastReadAgeMs: this.poller.successAgeMs() };
  }

  /** Announces the live members when they differ from the last announcement. */
  private async read(): Promise<void> {
    const members = RingStore.liveMembers(await this.ring.scan(), this.now());
    const fingerprint = JSON.stringify(members);
    if (fingerprint !== this.fingerprint) {
      this.fingerprint = fingerprint;
      this.onChange?.(members);
    }
  }
}
