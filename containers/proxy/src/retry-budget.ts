import type { FleetLoad } from '#core/balancing/backend.js';

/**
 * Envoy-style retry budget: retries in flight may not exceed `ratio` of the
 * requests in flight, with a floor of `min` so a quiet proxy can still retry.
 * This keeps a sick fleet from being buried under its own retries.
 */
export class RetryBudget {
  active = 0;
  exhausted = 0;

  constructor(
    private readonly load: FleetLoad,
    private readonly ratio: number,
    private readonly min: number,
  ) {}

  tryAcquire(): boolean {
    if (this.active >= Math.max(this.min, this.ratio * this.load.inflight)) {
      this.exhausted++;
      return false;
    }
    this.active++;
    return true;
  }

  release(): void {
    this.active--;
  }
}
