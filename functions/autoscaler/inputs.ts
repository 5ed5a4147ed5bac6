/** What the handler reads before a tick: ECS counts, CloudWatch metrics and the request-rate history. */
import type { ServiceName } from '#core/telemetry/metric-names.js';
import type { AutoscalerSettings } from './settings.js';
import type { PersistedState } from './state.js';

/** The last complete minute of a service's metrics. A missing datapoint is `undefined`. */
export interface ServiceMetrics {
  /** Requests per second reaching the tier (the proxy's RequestCount / 60). */
  readonly requestsPerSecond?: number | undefined;
  /** p99 response time in ms (the proxy's ResponseTime). */
  readonly p99Ms?: number | undefined;
  /** Average ECS CPUUtilization across the service's tasks, in percent. */
  readonly cpuPercent?: number | undefined;
  /**
   * Tasks the CPU and p99 figures were measured over (e.g. HealthyServers);
   * defaults to runningCount. It keeps a scale-out still starting from being
   * counted twice, since the metrics are a minute older than the ECS counts.
   */
  readonly tasksMeasured?: number | undefined;
  /** False when any expected datapoint was missing or partial: the policy will not scale in on it. */
  readonly complete: boolean;
}

/**
 * One task of a service as ECS describes it (DescribeTasks). Fargate bills a
 * task from its image pull to its stop, at least a minute; `startMs` is the
 * task's creation, which comes before the pull, so a bill from it errs high.
 */
export interface TaskSpan {
  readonly startMs: number;
  /** When the task stopped (stoppedAt); undefined while it runs, starts, drains or is stopping. */
  readonly stopMs?: number | undefined;
}

export interface ServiceObservation {
  /** ECS DescribeServices counts, now. */
  readonly runningCount: number;
  readonly pendingCount: number;
  readonly desiredCount: number;
  readonly metrics: ServiceMetrics;
  /**
   * Every task ECS still lists for the service: running, starting, stopping,
   * and stopped ones (ECS lists stopped tasks for at least an hour). With
   * them the ledger also bills what the counts miss: draining and stopping
   * tasks, replacements at a constant count, a deployment's surge, a task
   * started and stopped between two ticks. Undefined when they could not be
   * read: the ledger then bills on the counts alone.
   */
  readonly tasks?: readonly TaskSpan[] | undefined;
}

/**
 * Requests per second across the tier, oldest bucket first. The handler
 * reads the previous two weeks (HISTORY_DAYS); gaps are NaN. Any ArrayLike works, so a
 * caller can pass a Float64Array view without copying.
 */
export interface RequestRateHistory {
  /** Minutes per bucket (1 or 5 are CloudWatch's periods). */
  readonly bucketMinutes: number;
  /** Start of the first bucket, epoch ms. */
  readonly startMs: number;
  readonly requestsPerSecond: ArrayLike<number>;
}

export interface TickInputs {
  readonly nowMs: number;
  readonly services: Readonly<Record<ServiceName, ServiceObservation>>;
  /** Absent on a new deployment: the forecast term then stays out and the budget plans on the current load. */
  readonly history?: RequestRateHistory | undefined;
  /** Absent on the first tick ever; the handler then writes the returned state with version 1. */
  readonly state?: PersistedState | undefined;
  readonly settings: AutoscalerSettings;
  /**
   * The load could not be read at all (CloudWatch failed). The tick still
   * bills and applies the budget from the state and ECS's counts, and allows
   * only reductions: no count rises above what ECS has now.
   */
  readonly loadUnavailable?: boolean | undefined;
  /**
   * When the older of the two ECS services was created (DescribeServices).
   * A tick without a state item on services older than itself has lost the
   * ledger, and assumes the worst of the period so far (ledger.unknownSpend).
   */
  readonly servicesSinceMs?: number | undefined;
}
