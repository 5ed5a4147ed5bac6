import type { Logger } from 'pino';
import type { MetricDatum, MetricsSink } from '#core/ports/metrics-sink.js';
import { PROC_TICKS_PER_SECOND, processCpuTicks } from '#devkit/proc-stat.js';

/** The ECS metric the autoscaler reads for CPU (functions/autoscaler/adapters/cloudwatch-load.ts). */
export const ECS_NAMESPACE = 'AWS/ECS';
const CPU_METRIC = 'CPUUtilization';

/** One emulated service whose tasks are local processes. */
export interface LocalService {
  /** The ECS service name (the ServiceName dimension). */
  readonly name: string;
  /** CPU units each task reserves (1024 = one vCPU): utilization is measured against this, as ECS does. */
  readonly cpuUnits: number;
  /** Cumulative CPU seconds of each running task now, by task id; undefined where it cannot be read. */
  readonly cpuSeconds: () => Map<string, number | undefined>;
  /**
   * For one local process standing in for all of a service's tasks (the
   * proxy: the local run has one, whatever the service's count): how many
   * tasks its CPU is spread over, as a load balancer would spread the
   * requests. Without this, adding proxy tasks would never lower the CPU
   * the autoscaler reads, and it would scale the proxy to its maximum.
   */
  readonly sharedBy?: () => Promise<number>;
}

/** CPU seconds (user + system) a process has used, from /proc; undefined where /proc cannot be read. */
export function processCpuSeconds(pid: number): number | undefined {
  const ticks = processCpuTicks(pid);
  return ticks === undefined ? undefined : (ticks[0] + ticks[1]) / PROC_TICKS_PER_SECOND;
}

/** This process's own CPU seconds. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Publishes AWS/ECS CPUUtilization for services whose tasks are local
 * processes, as ECS does for real tasks: per period, the CPU each task used
 * against what it reserved, averaged over the tasks. Without it the emulator
 * has no CPU metric, the autoscaler counts every minute as incomplete data,
 * and never scales in. A task is measured from its second sample on.
 */
export class LocalTaskCpuPublisher {
  private previous = new Map<string, { atMs: number; cpu: Map<string, number | undefined> }>();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private warnedUnmeasured = false;

  constructor(
    private readonly cluster: string,
    private readonly services: readonly LocalService[],
    private readonly sink: MetricsSink,
    private readonly periodMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.sample(Date.now()); // the baseline: utilization is published from the next period on
    this.timer = setInterval(() => void this.publish(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Samples every service and returns the utilization data for the period
   * since the last sample; `shares[i]` divides service i's figure (sharedBy).
   */
  sample(nowMs: number, shares: readonly number[] = []): MetricDatum[] {
    const data: MetricDatum[] = [];
    for (const [i, service] of this.services.entries()) {
      const cpu = service.cpuSeconds();
      const before = this.previous.get(service.name);
      this.previous.set(service.name, { atMs: nowMs, cpu });
      if (!before || nowMs <= before.atMs) continue;
      const wallSeconds = (nowMs - before.atMs) / 1000;
      const vcpus = service.cpuUnits / 1024;
      let tasks = 0;
      let sum = 0;
      let unreadable = 0;
      for (const [task, seconds] of cpu) {
        const earlier = before.cpu.get(task);
        if (seconds === undefined) unreadable++;
        if (seconds === undefined || earlier === undefined) continue;
        tasks++;
        sum += (100 * Math.max(0, seconds - earlier)) / wallSeconds / vcpus;
      }
      if (unreadable > 0 && !this.warnedUnmeasured) this.warnUnmeasured(service);
      if (tasks === 0) continue;
      data.push({
        name: CPU_METRIC,
        unit: 'None',
        timestamp: new Date(nowMs),
        dimensions: { ClusterName: this.cluster, ServiceName: service.name },
        value: sum / tasks / Math.max(1, shares[i] ?? 1),
      });
    }
    return data;
  }

  private warnUnmeasured(service: LocalService): void {
    this.warnedUnmeasured = true;
    this.log.warn(
      { service: service.name, platform: process.platform },
      "a task's CPU could not be read (needs /proc); without it the autoscaler sees incomplete data and does not scale in",
    );
  }

  private async publish(): Promise<void> {
    const shares = await Promise.all(
      this.services.map((s) => (s.sharedBy ? s.sharedBy().catch(() => 1) : Promise.resolve(1))),
    );
    const data = this.sample(Date.now(), shares);
    if (data.length === 0) return;
    try {
      await this.sink.publish(data);
      this.failing = false;
    } catch (err) {
      // Each period stands alone: a lost CPU sample is one incomplete minute, not worth buffering.
      if (!this.failing) this.log.warn({ err }, 'publishing local task CPU failed');
      this.failing = true;
    }
  }
}
