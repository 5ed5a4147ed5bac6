import type { Logger } from 'pino';
import type { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { BackoffPoller } from '../membership/backoff-poller.js';
import type { AutoscalerStatus } from './autoscaler-status.js';

/**
 * Keeps the autoscaler's last committed tick (its state item) for the
 * snapshot, so /status and the balance page show desired vs running, the
 * recent decisions and the budget. A failed read keeps the last view, like
 * the other tables every proxy copies.
 */
export class AutoscalerWatcher {
  private latest: AutoscalerStatus | undefined;
  private readonly poller: BackoffPoller;

  constructor(
    private readonly store: AutoscalerStateStore,
    refreshMs: number,
    log: Logger,
  ) {
    this.poller = new BackoffPoller(() => this.read(), refreshMs, 'the autoscaler state', log);
  }

  start(): Promise<void> {
    return this.poller.pollNow();
  }

  stop(): void {
    this.poller.stop();
  }

  /** The last tick's view, or undefined before the autoscaler's first tick. */
  status(): AutoscalerStatus | undefined {
    return this.latest;
  }

  private async read(): Promise<void> {
    const stored = await this.store.load();
    if (!stored.summary) return;
    this.latest = {
      services: stored.summary.services,
      decisions: stored.decisions.map((d) => ({
        at: d.atMs,
        service: d.service,
        from: d.from,
        to: d.to,
        reason: d.reason,
        budgetLimited: d.budgetLimited,
      })),
      budget: stored.summary.budget,
    };
  }
}
