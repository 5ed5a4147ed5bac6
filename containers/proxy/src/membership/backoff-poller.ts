import type { Logger } from 'pino';

/** After failures, the delay doubles from the interval up to this. */
export const MAX_POLL_BACKOFF_MS = 5000;

/**
 * Runs `read` every `intervalMs`, and again at once on `pollNow()`. A failed
 * read changes nothing the caller holds: it is counted, logged once per
 * streak (an outage must not flood the log), and retried after a delay that
 * doubles up to MAX_POLL_BACKOFF_MS. Used for the tables every proxy keeps a
 * copy of (Ring, ShardT/MapT), where a DynamoDB outage must never cost the
 * last good view.
 */
export class BackoffPoller {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private consecutiveErrors = 0;
  errors = 0;
  lastSuccessAt = 0;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly what: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Polls once now (resolving when done) and then on schedule. */
  async pollNow(): Promise<void> {
    clearTimeout(this.timer);
    if (this.stopped) return;
    let delay = this.intervalMs;
    try {
      await this.read();
      this.lastSuccessAt = this.now();
      if (this.consecutiveErrors > 0) this.log.info({ after: this.consecutiveErrors }, `${this.what} readable again`);
      this.consecutiveErrors = 0;
    } catch (err) {
      this.errors++;
      this.consecutiveErrors++;
      delay = Math.min(this.intervalMs * 2 ** this.consecutiveErrors, MAX_POLL_BACKOFF_MS);
      const level = this.consecutiveErrors === 1 ? 'warn' : 'debug';
      this.log[level](
        { err, retryInMs: delay, consecutive: this.consecutiveErrors },
        `reading ${this.what} failed; keeping the last view`,
      );
    }
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.pollNow(), delay).unref();
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** True while reads are failing (the poller is backing off). */
  get failing(): boolean {
    return this.consecutiveErrors > 0;
  }

  /** Age of the last good read, or -1 before the first. */
  successAgeMs(): number {
    return this.lastSuccessAt ? this.now() - this.lastSuccessAt : -1;
  }
}
