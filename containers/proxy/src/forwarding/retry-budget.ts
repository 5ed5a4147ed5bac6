import type { FleetLoad } from '#core/balancing/backend.js';

/** A request waiting for a retry slot. */
export interface RetryWaiter {
  grantRetry(): void;
  denyRetry(): void;
}

export type RetryDecision = 'granted' | 'queued' | 'denied';

/**
 * Envoy-style retry budget: retries in flight may not exceed `ratio` of the
 * requests in flight, with a floor of `min`, so a sick fleet is not buried
 * under its own retries.
 *
 * Unlike Envoy, a retry over the budget waits (up to `maxWaitMs`) for a slot
 * instead of failing at once. When a server dies, every request on it fails
 * in the same instant — more than 20% of the traffic — yet each retry takes
 * a millisecond on a healthy server. Queueing keeps retry concurrency within
 * the budget (the point of a budget) without failing requests that one more
 * attempt would save.
 */
export class RetryBudget {
  active = 0;
  exhausted = 0;
  private readonly queue: { waiter: RetryWaiter; timer: NodeJS.Timeout }[] = [];

  constructor(
    private readonly load: FleetLoad,
    private readonly ratio: number,
    private readonly min: number,
    private readonly maxWaitMs: number,
    /** Longest queue; past it retries are refused outright. */
    private readonly maxQueue = 1024,
  ) {}

  private get limit(): number {
    return Math.max(this.min, this.ratio * this.load.inflight);
  }

  acquire(waiter: RetryWaiter): RetryDecision {
    if (this.active < this.limit) {
      this.active++;
      return 'granted';
    }
    if (this.maxWaitMs === 0 || this.queue.length >= this.maxQueue) {
      this.exhausted++;
      return 'denied';
    }
    const entry = {
      waiter,
      timer: setTimeout(() => {
        this.remove(waiter);
        this.exhausted++;
        waiter.denyRetry();
      }, this.maxWaitMs),
    };
    this.queue.push(entry);
    return 'queued';
  }

  release(): void {
    this.active--;
    while (this.queue.length > 0 && this.active < this.limit) {
      const next = this.queue.shift() as { waiter: RetryWaiter; timer: NodeJS.Timeout };
      clearTimeout(next.timer);
      this.active++;
      next.waiter.grantRetry();
    }
  }

  /** Forgets a waiter whose client went away. */
  cancel(waiter: RetryWaiter): void {
    this.remove(waiter);
  }

  get waiting(): number {
    return this.queue.length;
  }

  private remove(waiter: RetryWaiter): void {
    const i = this.queue.findIndex((e) => e.waiter === waiter);
    if (i >= 0) {
      clearTimeout(this.queue[i]?.timer);
      this.queue.splice(i, 1);
    }
  }
}
