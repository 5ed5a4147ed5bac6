import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  UpdateTaskProtectionCommand,
} from '@aws-sdk/client-ecs';
import type { Capacity, Scaler } from '../ports/scaler.js';
import { ScalerError } from '../ports/scaler.js';
import type { CapacityGate } from './budget-gate.js';

/** Scale-in protection on the tasks that must survive a named removal lasts at most this long. */
export const REMOVAL_PROTECTION_MINUTES = 5;
/** ECS takes at most this many tasks per UpdateTaskProtection call. */
const MAX_TASKS_PER_PROTECTION_CALL = 10;
/** ECS describes at most this many tasks per DescribeTasks call. */
const MAX_TASKS_PER_DESCRIBE_CALL = 100;

/** A task's billed life as ECS reports it (epoch ms); `stopMs` is absent until it has stopped. */
export interface TaskLife {
  readonly startMs: number;
  readonly stopMs?: number;
}

/** One ECS service: the autoscaler resizes it, and the proxy's /add and /rm act on it. */
export class EcsService {
  constructor(
    private readonly client: ECSClient,
    readonly cluster: string,
    readonly service: string,
  ) {}

  async describe(): Promise<Capacity> {
    const out = await this.client.send(
      new DescribeServicesCommand({ cluster: this.cluster, services: [this.service] }),
    );
    const svc = out.services?.[0];
    if (!svc) {
      const reason = out.failures?.[0]?.reason ?? 'not returned';
      throw new ScalerError(`ECS service ${this.service} in ${this.cluster}: ${reason}`, []);
    }
    const created = svc.createdAt?.getTime();
    return {
      desired: svc.desiredCount ?? 0,
      running: svc.runningCount ?? 0,
      pending: svc.pendingCount ?? 0,
      ...(created === undefined ? {} : { createdMs: created }),
    };
  }

  async setDesiredCount(count: number): Promise<void> {
    await this.client.send(
      new UpdateServiceCommand({ cluster: this.cluster, service: this.service, desiredCount: count }),
    );
  }

  /** Ids (the last part of the ARN) of the service's running tasks. */
  async taskIds(): Promise<string[]> {
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListTasksCommand({ cluster: this.cluster, serviceName: this.service, desiredStatus: 'RUNNING', nextToken }),
      );
      for (const arn of page.taskArns ?? []) ids.push(taskIdOf(arn));
      nextToken = page.nextToken;
    } while (nextToken);
    return ids;
  }

  /**
   * Every task ECS lists for the service, running or stopped (stopped tasks
   * stay listed for at least an hour), with when each was created and, once
   * stopped, when it stopped: what the autoscaler's ledger bills. Creation
   * comes before the image pull, where Fargate's billing starts, so a bill
   * from it errs high; a task without a creation time is counted from now.
   */
  async taskLives(nowMs: number): Promise<TaskLife[]> {
    const arns: string[] = [];
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      let nextToken: string | undefined;
      do {
        const page = await this.client.send(
          new ListTasksCommand({ cluster: this.cluster, serviceName: this.service, desiredStatus, nextToken }),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
    }
    const lives: TaskLife[] = [];
    for (let i = 0; i < arns.length; i += MAX_TASKS_PER_DESCRIBE_CALL) {
      const out = await this.client.send(
        new DescribeTasksCommand({ cluster: this.cluster, tasks: arns.slice(i, i + MAX_TASKS_PER_DESCRIBE_CALL) }),
      );
      for (const task of out.tasks ?? []) {
        const startMs = task.createdAt?.getTime() ?? nowMs;
        const stopMs = task.stoppedAt?.getTime();
        lives.push(stopMs === undefined ? { startMs } : { startMs, stopMs });
      }
    }
    return lives;
  }

  /**
   * Stops exactly the tasks `ids` and lowers the desired count by as many.
   * ECS chooses which tasks a lower desired count stops, so every other task
   * is protected from scale-in first; the named ones are then stopped, and
   * the count lowered, so a replacement ECS may have started meanwhile is
   * the unprotected one it stops. Protection is lifted at the end (it also
   * expires by itself after REMOVAL_PROTECTION_MINUTES).
   */
  async stopExactly(ids: readonly string[]): Promise<void> {
    const running = await this.taskIds();
    const unknown = ids.filter((id) => !running.includes(id));
    if (unknown.length > 0) throw new ScalerError(`not running in ${this.service}: ${unknown.join(', ')}`, unknown);
    const others = running.filter((id) => !ids.includes(id));
    await this.protect(others, true);
    try {
      for (const task of ids) {
        await this.client.send(
          new StopTaskCommand({ cluster: this.cluster, task, reason: 'removed by the Ringmaster admin API (/rm)' }),
        );
      }
      const { desired } = await this.describe();
      await this.setDesiredCount(Math.max(0, desired - ids.length));
    } finally {
      await this.protect(others, false);
    }
  }

  private async protect(ids: readonly string[], enabled: boolean): Promise<void> {
    for (let i = 0; i < ids.length; i += MAX_TASKS_PER_PROTECTION_CALL) {
      await this.client.send(
        new UpdateTaskProtectionCommand({
          cluster: this.cluster,
          tasks: ids.slice(i, i + MAX_TASKS_PER_PROTECTION_CALL),
          protectionEnabled: enabled,
          ...(enabled ? { expiresInMinutes: REMOVAL_PROTECTION_MINUTES } : {}),
        }),
      );
    }
  }
}

/** `arn:aws:ecs:region:account:task/cluster/abc123` → `abc123`. */
export function taskIdOf(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/**
 * The Scaler port on an ECS service, for the proxy's /add and /rm on AWS.
 * Tasks take their own ids (a server on ECS registers under its task id), so
 * /add cannot name servers here.
 */
export class EcsScaler implements Scaler {
  readonly kind = 'ecs';
  readonly namesServers = false;

  /**
   * @param gate when given, every raise of the desired count is checked
   *   first (BudgetGate: the autoscaler's budget and maxCount), so capacity
   *   added by hand goes through the budget like the autoscaler's own.
   */
  constructor(
    private readonly service: EcsService,
    private readonly gate?: CapacityGate,
  ) {}

  async describe(): Promise<Capacity> {
    // The counts only: when the service was created is the autoscaler's business, not the admin API's.
    const { desired, running, pending } = await this.service.describe();
    return { desired, running, pending };
  }

  async setDesiredCount(count: number, newIds?: readonly string[]): Promise<void> {
    if (newIds && newIds.length > 0) {
      throw new ScalerError('ECS tasks take their own ids; new servers cannot be named', newIds);
    }
    if (this.gate) await this.gate.allow((await this.service.describe()).desired, count);
    await this.service.setDesiredCount(count);
  }

  removeServers(ids: readonly string[]): Promise<void> {
    return this.service.stopExactly(ids);
  }

  async close(): Promise<void> {}
}
