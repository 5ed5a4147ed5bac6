/**
 * The autoscaler's ports: what a tick (tick.ts) and the failsafe
 * (failsafe.ts) need from the outside world, as interfaces. Each has one AWS
 * implementation (the CloudWatch load reader in adapters/, core/aws's ECS
 * service and state store); the tests and the simulator can stand anything
 * that fits in their place without the tick knowing.
 */
import type { DecisionRecord, StoredState, TickSummary } from '#core/aws/autoscaler-state-store.js';
import type { MetricsSink } from '#core/ports/metrics-sink.js';
import type { Capacity } from '#core/ports/scaler.js';
import type { ServiceName } from '#core/telemetry/metric-names.js';
import type { RequestRateHistory, ServiceMetrics, TaskSpan } from './inputs.js';

/** One tick's load: the last complete minute per service, and the request history the forecast reads. */
export interface LoadReading {
  readonly services: Readonly<Record<ServiceName, ServiceMetrics>>;
  readonly history: RequestRateHistory;
  /** The minute the per-service figures describe (epoch ms of its start). */
  readonly minuteStartMs: number;
}

/** Where the autoscaler reads load from (adapters/cloudwatch-load.ts on AWS). */
export interface LoadSource {
  read(nowMs: number): Promise<LoadReading>;
}

/**
 * The autoscaler's state item: the ledger and the recent decisions, written
 * only on the version read (core/aws/autoscaler-state-store.ts implements
 * it on DynamoDB; a commit on a moved version throws StateConflictError).
 */
export interface StateStore {
  load(): Promise<StoredState>;
  commit(
    expectedVersion: number,
    state: unknown,
    recent: readonly DecisionRecord[],
    newDecisions: readonly DecisionRecord[],
    summary?: TickSummary,
  ): Promise<void>;
}

/** An ECS service as the tick sees it (core/aws/ecs-service.ts implements it). */
export interface ServiceCounts {
  describe(): Promise<Capacity>;
  setDesiredCount(count: number): Promise<void>;
  /** The service's tasks with their start and stop times, for the ledger (EcsService.taskLives). */
  taskLives?(nowMs: number): Promise<readonly TaskSpan[]>;
}

/** The slice of a logger the tick and the failsafe use (Powertools' Logger and pino both fit). */
export interface TickLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** What one tick needs from the outside world. */
export interface TickPorts {
  readonly load: LoadSource;
  readonly services: Readonly<Record<ServiceName, ServiceCounts>>;
  readonly state: StateStore;
  readonly metrics: MetricsSink;
}
