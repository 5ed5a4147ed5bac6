import type { Logger } from 'pino';
import type { EcsService } from '#core/aws/ecs-service.js';
import type { Capacity } from '#core/ports/scaler.js';

/** The admin actions the follower changes the fleet through (admin/fleet-actions.ts). */
export interface ScalingActions {
  add(request: { n: number }): Promise<unknown>;
  remove(request: { n: number }): Promise<unknown>;
  /** Scale operations started so far; moves synchronously when one starts. */
  readonly changes: number;
  /** An /add or /rm is in progress. */
  readonly changing: boolean;
}

/** The debug message of each comparison the follower makes (tests count them). */
export const FOLLOWER_COMPARED = 'compared the ECS service with the local processes';

/**
 * Makes the number of local server processes follow an ECS service's task
 * count (running plus pending: tasks ECS has started). It reads the service
 * every interval and, when the counts differ, adds or removes the difference
 * through the admin actions. It acts only when no /add or /rm ran during its
 * read, so it never undoes an admin change on a count that was already stale.
 */
export class EcsFollower {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly service: EcsService,
    private readonly local: { describe(): Promise<Capacity> },
    private readonly actions: ScalingActions,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.followOnce().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One comparison and, if needed, one change. Errors are logged once per streak and retried next round. */
  private async followOnce(): Promise<void> {
    const { actions } = this;
    if (actions.changing) return;
    const before = actions.changes;
    try {
      const ecs = await this.service.describe();
      const { desired: local } = await this.local.describe();
      if (this.stopped || actions.changing || actions.changes !== before) return;
      const target = ecs.running + ecs.pending;
      // One line per comparison that could have acted: at debug level it shows the follower is alive,
      // and tests wait on it to know rounds have passed instead of sleeping.
      this.log.debug({ service: this.service.service, ecs: target, local }, FOLLOWER_COMPARED);
      if (target !== local) {
        this.log.info(
          { service: this.service.service, from: local, to: target },
          'the ECS service changed its count; following it',
        );
        if (target > local) await actions.add({ n: target - local });
        else await actions.remove({ n: local - target });
      }
      if (this.failing) this.log.info({ service: this.service.service }, 'following the ECS service again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err, service: this.service.service }, 'following the ECS service failed');
      this.failing = true;
    }
  }
}
