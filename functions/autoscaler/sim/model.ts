/**
 * The replay: a minute-by-minute model of one tier behind a load balancer.
 * At the start of each minute the policy ticks, seeing the metrics of the
 * minute that ended one minute ago (METRIC_DELAY_MINUTES); tasks it adds serve
 * TASK_START_MINUTES later but are billed from the moment they are asked for
 * (Fargate bills from the image pull); tasks it removes stop at once, newest
 * (pending) first. Dollars are computed here from core/pricing, apart from
 * the policy's own ledger.
 */
import { taskSecondsUsd } from '#core/pricing/fargate.js';
import { FAILSAFE_ACTION_MINUTES } from '../budget.js';
import { p99At, type SimConfig } from './config.js';
import type { Trace } from './trace.js';

const SECONDS_PER_MINUTE = 60;

export interface MinuteMetrics {
  readonly minute: number;
  readonly rps: number;
  readonly cpuPercent: number;
  readonly p99Ms: number;
  /** Server tasks that served the minute. */
  readonly tasksMeasured: number;
}

export interface TickView {
  readonly minute: number;
  readonly nowMs: number;
  /** The newest readable minute, undefined until one is. */
  readonly metrics: MinuteMetrics | undefined;
  /** Request rate of every readable minute, oldest first; index 0 is minute `observedFirstMinute`. */
  readonly observedRps: Float64Array;
  /** Zero, or minus the minutes of prior history the trace came with. */
  readonly observedFirstMinute: number;
  readonly servers: FleetCounts;
  readonly proxy: FleetCounts;
  /** Dollars billed so far in the replay (a naive budget cap reads this). */
  readonly spendUsd: number;
  readonly config: SimConfig;
  /** The load could not be read this tick (the metricsOutage fault): metrics and history are withheld. */
  readonly loadUnavailable?: boolean;
  /** The servers' tasks as ECS would list them (running, stopping, stopped in the last hour): for a task-level ledger. */
  readonly serverTasks?: readonly { readonly startMs: number; readonly stopMs?: number }[];
  readonly proxyTasks?: readonly { readonly startMs: number; readonly stopMs?: number }[];
}

export interface FleetCounts {
  readonly running: number;
  readonly pending: number;
  readonly desired: number;
}

export interface SimDecision {
  readonly servers: number;
  /** Peers leave the proxy at its minimum. */
  readonly proxy?: number;
}

export interface SimPolicy {
  tick(view: TickView): SimDecision;
  /**
   * The admin API's /add of `n` servers at `desired` (the manualAdd fault):
   * the count the policy's budget gate lets through (desired when refused).
   * Without it, /add is not checked.
   */
  manualAdd?(desired: number, n: number): number;
  /** The state item was deleted (the stateLoss fault). */
  loseState?(): void;
}

/** Faults a replay can inject (functions/autoscaler/sim/faults.ts builds them). */
export interface Faults {
  /** Ticks do not run in [fromMinute, fromMinute + minutes); the failsafe acts as deployed. */
  readonly missedTicks?: { readonly fromMinute: number; readonly minutes: number };
  /** No load can be read in [fromMinute, fromMinute + minutes). */
  readonly metricsOutage?: { readonly fromMinute: number; readonly minutes: number };
  /** A stopped task keeps billing this many seconds (a proxy's 90 s drain). */
  readonly slowStopSeconds?: number;
  /** A rolling deploy: from atMinute, for `minutes`, a second copy of every server task runs (maxHealthyPercent 200). */
  readonly deploySurge?: { readonly atMinute: number; readonly minutes: number };
  /** /add of `n` servers at each of these minutes. */
  readonly manualAdd?: { readonly atMinutes: readonly number[]; readonly n: number };
  /** The state item is deleted at this minute. */
  readonly stateLossAtMinute?: number;
}

export interface ReplayOptions {
  readonly faults?: Faults;
  /** The policy's budget period as a calendar period instead of the trace (monthRollover). */
  readonly budgetPeriod?: 'month';
  /** The ledger starts at this spend (as if the period so far had cost it; monthRollover). */
  readonly initialSpendUsd?: number;
  readonly budgetUsd?: number;
  /** The budget period, when the trace is one (the simulator's tight-budget runs). */
  readonly periodStartMs?: number;
  readonly periodEndMs?: number;
}

export type PolicyFactory = (trace: Trace, config: SimConfig, options: ReplayOptions) => SimPolicy;

export interface ReplayResult {
  readonly rps: Float64Array;
  /** Server tasks serving each minute. */
  readonly running: Int32Array;
  /** Server tasks billed each minute (running + pending). */
  readonly billed: Int32Array;
  /** The server count the policy set at each tick. */
  readonly desired: Int32Array;
  /** Dollars billed in each minute: servers, proxy and overhead. */
  readonly dollars: Float64Array;
}

/** A task as ECS lists it, for a task-level ledger; old running tasks carry a start long ago. */
interface ListedTask {
  readonly startMs: number;
  stopMs?: number;
}

/**
 * One fleet's tasks: running, pending ones by the minute they start serving,
 * and (with slow stops) stopping ones by the time their stop completes.
 */
class Fleet {
  running: number;
  private readonly pendingReady: number[] = [];
  /** Stopping tasks: when each stop completes (ms). They bill until then and serve nothing. */
  private stopping: number[] = [];
  /** Tasks that stopped, kept an hour as ECS lists them. */
  private stopped: ListedTask[] = [];
  /** Extra tasks of a rolling deploy (the old copy), billed until the deploy ends. */
  surge = 0;
  desired: number;

  constructor(
    initial: number,
    private readonly slowStopMs = 0,
  ) {
    this.running = initial;
    this.desired = initial;
  }

  get pending(): number {
    return this.pendingReady.length;
  }

  /** Pending tasks whose start time has come begin serving; stops that completed are recorded. */
  advance(minute: number, nowMs: number): void {
    while (this.pendingReady.length > 0 && (this.pendingReady[0] ?? 0) <= minute) {
      this.pendingReady.shift();
      this.running++;
    }
    const done = this.stopping.filter((at) => at <= nowMs);
    this.stopping = this.stopping.filter((at) => at > nowMs);
    for (const at of done) this.stopped.push({ startMs: 0, stopMs: at });
    this.stopped = this.stopped.filter((t) => (t.stopMs ?? 0) > nowMs - 3_600_000);
  }

  setDesired(count: number, minute: number, startMinutes: number, nowMs = 0): void {
    const target = Math.max(0, Math.round(count));
    let total = this.running + this.pending;
    while (total < target) {
      this.pendingReady.push(minute + startMinutes);
      total++;
    }
    while (total > target) {
      if (this.pendingReady.length > 0) this.pendingReady.pop();
      else {
        this.running--;
        if (this.slowStopMs > 0) this.stopping.push(nowMs + this.slowStopMs);
      }
      total--;
    }
    this.desired = target;
  }

  /** Ends a deploy's surge: its tasks stop (slowly, with slow stops). */
  endSurge(nowMs: number): void {
    for (let i = 0; i < this.surge; i++) {
      if (this.slowStopMs > 0) this.stopping.push(nowMs + this.slowStopMs);
      else this.stopped.push({ startMs: 0, stopMs: nowMs });
    }
    this.surge = 0;
  }

  /** Task-seconds billed in the minute starting at `fromMs`. */
  billedSeconds(fromMs: number): number {
    let seconds = (this.running + this.pending + this.surge) * SECONDS_PER_MINUTE;
    for (const at of this.stopping) seconds += Math.min(SECONDS_PER_MINUTE, Math.max(0, (at - fromMs) / 1000));
    for (const t of this.stopped) {
      const at = t.stopMs ?? 0;
      if (at > fromMs) seconds += Math.min(SECONDS_PER_MINUTE, (at - fromMs) / 1000);
    }
    return seconds;
  }

  counts(): FleetCounts {
    // ECS's runningCount counts every deployment's tasks.
    return { running: this.running + this.surge, pending: this.pending, desired: this.desired };
  }

  /** What ListTasks and DescribeTasks would show: live tasks started long ago (the ledger's count covers their start). */
  tasks(): ListedTask[] {
    const live = this.running + this.pending + this.surge + this.stopping.length;
    return [...Array.from({ length: live }, () => ({ startMs: 0 })), ...this.stopped.map((t) => ({ ...t }))];
  }
}

export function replay(
  trace: Trace,
  factory: PolicyFactory,
  config: SimConfig,
  options: ReplayOptions = {},
): ReplayResult {
  const minutes = trace.rps.length;
  const { settings } = config;
  const serverSize = settings.services.servers.task;
  const proxySize = settings.services.proxy.task;
  const overheadPerMinute = settings.fixedOverheadUsdPerHour / 60;
  const target = settings.services.servers.targetRequestsPerTaskPerSecond;
  const firstRps = trace.rps[0] ?? 0;
  // Every policy starts where a steady target tracker would be for the first minute.
  const initial = Math.min(
    settings.services.servers.maxCount,
    Math.max(settings.services.servers.minCount, Math.ceil(firstRps / target)),
  );
  const faults = options.faults ?? {};
  const slowStopMs = (faults.slowStopSeconds ?? 0) * 1000;
  const servers = new Fleet(initial, slowStopMs);
  const proxy = new Fleet(settings.services.proxy.minCount, slowStopMs);
  const policy = factory(trace, config, options);
  const prior = trace.priorRps ?? new Float64Array(0);
  const observed = new Float64Array(prior.length + minutes);
  observed.set(prior);
  const metrics: MinuteMetrics[] = [];
  const result: ReplayResult = {
    rps: trace.rps,
    running: new Int32Array(minutes),
    billed: new Int32Array(minutes),
    desired: new Int32Array(minutes),
    dollars: new Float64Array(minutes),
  };
  const within = (span: { fromMinute: number; minutes: number } | undefined, minute: number) =>
    span !== undefined && minute >= span.fromMinute && minute < span.fromMinute + span.minutes;
  // The failsafe as deployed: an alarm after failsafeAfterMinutes without a tick, plus its action's delay.
  const failsafeMinutes = settings.failsafeAfterMinutes + FAILSAFE_ACTION_MINUTES;
  let lastTickMinute = -1;
  let spend = 0;
  for (let minute = 0; minute < minutes; minute++) {
    const nowMs = config.epochMs + minute * 60_000;
    servers.advance(minute, nowMs);
    proxy.advance(minute, nowMs);
    if (faults.deploySurge && minute === faults.deploySurge.atMinute) servers.surge = servers.running;
    if (faults.deploySurge && minute === faults.deploySurge.atMinute + faults.deploySurge.minutes) {
      servers.endSurge(nowMs);
    }
    if (faults.stateLossAtMinute === minute) policy.loseState?.();
    if (faults.manualAdd?.atMinutes.includes(minute)) {
      const allowed = policy.manualAdd
        ? policy.manualAdd(servers.desired, faults.manualAdd.n)
        : servers.desired + faults.manualAdd.n;
      servers.setDesired(allowed, minute, config.taskStartMinutes, nowMs);
    }
    const readable = minute - 1 - config.metricDelayMinutes;
    if (!within(faults.missedTicks, minute)) {
      const blind = within(faults.metricsOutage, minute);
      const decision = policy.tick({
        minute,
        nowMs,
        metrics: readable >= 0 && !blind ? metrics[readable] : undefined,
        observedRps: observed.subarray(0, Math.max(0, prior.length + readable + 1)),
        observedFirstMinute: -prior.length,
        servers: servers.counts(),
        proxy: proxy.counts(),
        spendUsd: spend,
        config,
        ...(blind ? { loadUnavailable: true } : {}),
        serverTasks: servers.tasks(),
        proxyTasks: proxy.tasks(),
      });
      servers.setDesired(decision.servers, minute, config.taskStartMinutes, nowMs);
      proxy.setDesired(decision.proxy ?? proxy.desired, minute, config.taskStartMinutes, nowMs);
      lastTickMinute = minute;
    } else if (minute - lastTickMinute >= failsafeMinutes) {
      // The failsafe only lowers, to the minimum counts.
      servers.setDesired(
        Math.min(servers.desired, settings.services.servers.minCount),
        minute,
        config.taskStartMinutes,
        nowMs,
      );
      proxy.setDesired(
        Math.min(proxy.desired, settings.services.proxy.minCount),
        minute,
        config.taskStartMinutes,
        nowMs,
      );
    }

    const rps = trace.rps[minute] ?? 0;
    const capacity = servers.running * config.taskCapacityRps;
    const utilization = capacity > 0 ? rps / capacity : rps > 0 ? Number.POSITIVE_INFINITY : 0;
    metrics.push({
      minute,
      rps,
      cpuPercent: Math.min(100, utilization * 100),
      p99Ms: p99At(utilization),
      tasksMeasured: servers.running,
    });
    observed[prior.length + minute] = rps;
    // A task is never stopped in the minute it was asked for (a tick lasts a minute), so each
    // billed minute here already meets Fargate's one-minute minimum; stopping tasks bill until their stop.
    const dollars =
      taskSecondsUsd(serverSize, settings.fargateRates, servers.billedSeconds(nowMs)) +
      taskSecondsUsd(proxySize, settings.fargateRates, proxy.billedSeconds(nowMs)) +
      overheadPerMinute;
    spend += dollars;
    result.running[minute] = servers.running;
    result.billed[minute] = servers.running + servers.pending;
    result.desired[minute] = servers.desired;
    result.dollars[minute] = dollars;
  }
  return result;
}
