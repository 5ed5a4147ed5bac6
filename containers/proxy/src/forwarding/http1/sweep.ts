/**
 * The timeouts of an HTTP/1 connection (a slow head, a slow body, an idle
 * keep-alive, an upstream connect) are enforced by one interval timer that
 * sweeps every connection and compares timestamps the connections keep, so
 * nothing is armed or cleared per request. Both sides of the codec use it:
 * the `net` data plane's server and the upstream client.
 */

/** A sweep runs at most this often, like node:http's connectionsCheckingInterval... */
export const SWEEP_MAX_INTERVAL_MS = 1000;
/** ...and at least this far apart, whatever the timeouts, so a tiny timeout cannot make it spin. */
const SWEEP_MIN_INTERVAL_MS = 10;

/**
 * The sweep's period for a shortest timeout: `shortestTimeoutMs / fraction`
 * within the bounds above. With fraction 4 a timeout fires within 25% of its
 * length; with 1, within one length (node:http's own precision).
 */
export function sweepIntervalMs(shortestTimeoutMs: number, fraction = 1): number {
  return Math.max(SWEEP_MIN_INTERVAL_MS, Math.min(SWEEP_MAX_INTERVAL_MS, Math.floor(shortestTimeoutMs / fraction)));
}

/** One unref'd interval timer that calls `sweep` with performance.now(); started and stopped as its owner needs. */
export class SweepTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly intervalMs: number,
    private readonly sweep: (now: number) => void,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts the timer unless it runs already. */
  start(): void {
    if (this.timer === undefined)
      this.timer = setInterval(() => this.sweep(performance.now()), this.intervalMs).unref();
  }

  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
