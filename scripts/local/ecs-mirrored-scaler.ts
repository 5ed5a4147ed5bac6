import type { Logger } from 'pino';
import type { EcsService } from '#core/aws/ecs-service.js';
import type { Capacity, Scaler } from '#core/ports/scaler.js';
import { EcsFollower, type ScalingActions } from './ecs-follower.js';
import type { LocalProcessScaler } from './local-process-scaler.js';
import type { LocalTaskCpuPublisher } from './local-task-cpu.js';

/**
 * Local server processes standing in for the tasks of an emulated ECS
 * service (SCALER=local-ecs, what `npm start` runs). On the emulator an ECS
 * task is only a record and no container runs, so the two are kept in step
 * both ways:
 *
 * - /add and /rm change the processes and write the new count to the
 *   service, as on AWS they change its desired count. The service is written
 *   first on the way up, so a failed ECS call starts nothing.
 * - When the service's count changes from outside (the autoscaler's
 *   UpdateService), the follower starts or drains and stops processes to
 *   match, through the same admin actions: new servers get fresh names
 *   (s4, s5, …) and register; leaving ones (the newest) are drained first.
 *
 * The processes are named here, so /add's hostnames work as with SCALER=local.
 * While following, it also publishes the processes' CPU as AWS/ECS
 * CPUUtilization (local-task-cpu.ts), which the autoscaler reads.
 */
export class EcsMirroredScaler implements Scaler {
  readonly kind = 'local-ecs';
  readonly namesServers = true;
  private follower: EcsFollower | undefined;

  constructor(
    private readonly local: LocalProcessScaler,
    private readonly service: EcsService,
    private readonly followIntervalMs: number,
    private readonly cpu: LocalTaskCpuPublisher,
    private readonly log: Logger,
  ) {}

  describe(): Promise<Capacity> {
    return this.local.describe();
  }

  async setDesiredCount(count: number, newIds?: readonly string[]): Promise<void> {
    await this.mirror(count);
    await this.local.setDesiredCount(count, newIds);
  }

  async removeServers(ids: readonly string[]): Promise<void> {
    await this.local.removeServers(ids);
    await this.mirror((await this.local.describe()).desired);
  }

  /**
   * Starts following the service's count, changing the fleet through
   * `actions` (the admin API's /add and /rm), and publishing task CPU.
   * Returns what stops both.
   */
  follow(actions: ScalingActions): () => Promise<void> {
    this.follower ??= new EcsFollower(this.service, this.local, actions, this.followIntervalMs, this.log);
    this.follower.start();
    this.cpu.start();
    return () => this.stopFollowing();
  }

  async close(): Promise<void> {
    await this.stopFollowing();
    await this.local.close();
  }

  private async stopFollowing(): Promise<void> {
    this.cpu.stop();
    await this.follower?.stop();
  }

  /** Writes `count` to the service unless it already says so (the follower's own changes land here too). */
  private async mirror(count: number): Promise<void> {
    const { desired } = await this.service.describe();
    if (desired !== count) await this.service.setDesiredCount(count);
  }
}
