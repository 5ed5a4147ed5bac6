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
}

export interface ReplayOptions {
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

/** One fleet's tasks: running, and pending ones by the minute they start serving. */
class Fleet {
  running: number;
  private readonly pendingReady: number[] = [];
  desired: number;

  constructor(initial: number) {
    this.running = initial;
    this.desired = initial;
  }

  get pending(): number {
    return this.pendingReady.length;
  }

  /** Pending tasks whose start time has come begin serving. */
  advance(minute: number): void {
    while (this.pendingReady.length > 0 && (this.pendingReady[0] ?? 0) <= minute) {
      this.pendingReady.shift();
      this.running++;
    }
  }

  setDesired(count: number, minute: number, startMinutes: number): void {
    const target = Math.max(0, Math.round(count));
    let total = this.running + this.pending;
    while (total < target) {
      this.pendingReady.push(minute + startMinutes);
      total++;
    }
    while (total > target) {
      if (this.pendingReady.length > 0) this.pendingReady.pop();
      else this.running--;
      total--;
    }
    this.desired = target;
  }

  counts(): FleetCounts {
    return { running: this.running, pending: this.pending, desired: this.desired };
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
  const servers = new Fleet(initial);
  const proxy = new Fleet(settings.services.proxy.minCount);
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
  let spend = 0;
  for (let minute = 0; minute < minutes; minute++) {
    servers.advance(minute);
    proxy.advance(minute);
    const readable = minute - 1 - config.metricDelayMinutes;
    const decision = policy.tick({
      minute,
      nowMs: config.epochMs + minute * 60_000,
      metrics: readable >= 0 ? metrics[readable] : undefined,
      observedRps: observed.subarray(0, Math.max(0, prior.length + readable + 1)),
      observedFirstMinute: -prior.length,
      servers: servers.counts(),
      proxy: proxy.counts(),
      spendUsd: spend,
      config,
    });
    servers.setDesired(decision.servers, minute, config.taskStartMinutes);
    proxy.setDesired(decision.proxy ?? proxy.desired, minute, config.taskStartMinutes);

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
    // billed minute here already meets Fargate's one-minute minimum.
    const dollars =
      taskSecondsUsd(serverSize, settings.fargateRates, (servers.running + servers.pending) * SECONDS_PER_MINUTE) +
      taskSecondsUsd(proxySize, settings.fargateRates, (proxy.running + proxy.pending) * SECONDS_PER_MINUTE) +
      overheadPerMinute;
    spend += dollars;
    result.running[minute] = servers.running;
    result.billed[minute] = servers.running + servers.pending;
    result.desired[minute] = servers.desired;
    result.dollars[minute] = dollars;
  }
  return result;
}
