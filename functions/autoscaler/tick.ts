import {
  type AutoscalerStateStore,
  type DecisionRecord,
  StateConflictError,
} from '#core/aws/autoscaler-state-store.js';
import type { MetricDatum, MetricsSink } from '#core/ports/metrics-sink.js';
import type { Capacity } from '#core/ports/scaler.js';
import { AUTOSCALER_METRICS, DIMENSIONS, type ServiceName } from '#core/telemetry/metric-names.js';
import type { LoadReading, LoadSource } from './adapters/cloudwatch-load.js';
import { decide, parseState, type TickDecision } from './policy.js';
import { type AutoscalerSettings, SERVICE_ORDER } from './settings.js';

/** What one tick needs from the outside world; each has one AWS implementation. */
export interface TickPorts {
  readonly load: LoadSource;
  readonly services: Readonly<Record<ServiceName, ServiceCounts>>;
  readonly state: AutoscalerStateStore;
  readonly metrics: MetricsSink;
}

/** An ECS service as the tick sees it (core/aws/ecs-service.ts implements it). */
export interface ServiceCounts {
  describe(): Promise<Capacity>;
  setDesiredCount(count: number): Promise<void>;
}

/** The slice of a logger the tick uses (Powertools' Logger and pino both fit). */
export interface TickLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export type TickOutcome =
  | {
      readonly kind: 'applied';
      readonly decision: TickDecision;
      readonly scaleEvents: number;
      readonly failedUpdates: number;
    }
  | { readonly kind: 'conflict' }
  | { readonly kind: 'error'; readonly stage: 'read' | 'commit'; readonly error: unknown };

/**
 * One autoscaler tick: read state, ECS counts and load; decide; commit the
 * next state conditionally; only then call UpdateService where a count
 * changed; emit the decision's metrics. The conditional commit comes first,
 * so an overlapping invocation that loses the race applies nothing. A read
 * error changes nothing and is retried by the next tick; an UpdateService
 * error after the commit is corrected next tick, which reads ECS's real
 * counts again.
 */
export async function runTick(
  ports: TickPorts,
  settings: AutoscalerSettings,
  environment: string,
  log: TickLog,
  nowMs: number,
): Promise<TickOutcome> {
  let stored: Awaited<ReturnType<AutoscalerStateStore['load']>>;
  let counts: Capacity[];
  let load: LoadReading;
  try {
    [stored, counts, load] = await Promise.all([
      ports.state.load(),
      Promise.all(SERVICE_ORDER.map((name) => ports.services[name].describe())),
      ports.load.read(nowMs),
    ]);
  } catch (error) {
    log.error('tick read failed; nothing changed', { error: describe(error) });
    await emit(ports.metrics, errorData(environment, nowMs), log);
    return { kind: 'error', stage: 'read', error };
  }
  const state = stored.state === undefined ? undefined : parseState(stored.state);
  const observation = (name: ServiceName, i: number) => {
    const c = counts[i] as Capacity;
    return { runningCount: c.running, pendingCount: c.pending, desiredCount: c.desired, metrics: load.services[name] };
  };
  const decision = decide({
    nowMs,
    services: { proxy: observation('proxy', 0), servers: observation('servers', 1) },
    history: load.history,
    state,
    settings,
  });
  const records: DecisionRecord[] = SERVICE_ORDER.map((name) => decision.services[name])
    .map((d, i) => ({ d, name: SERVICE_ORDER[i] as ServiceName }))
    .filter(({ d }) => d.changed || d.budgetLimited)
    .map(({ d, name }) => ({
      atMs: nowMs,
      service: name,
      from: d.capacity,
      to: d.desiredCount,
      budgetLimited: d.budgetLimited,
      reason: d.reason,
    }));
  try {
    await ports.state.commit(stored.version, decision.nextState, stored.decisions, records, {
      atMs: nowMs,
      services: SERVICE_ORDER.map((name, i) => {
        const c = counts[i] as Capacity;
        return { name, desired: decision.services[name].desiredCount, running: c.running, pending: c.pending };
      }),
      budget: {
        budgetUsd: decision.budget.budgetUsd,
        spendUsd: decision.budget.spendUsd,
        remainingUsd: decision.budget.remainingUsd,
        projectedSpendUsd: decision.budget.projectedSpendUsd,
      },
    });
  } catch (error) {
    if (error instanceof StateConflictError) {
      log.warn('another invocation committed this tick first; applying nothing', { version: stored.version });
      return { kind: 'conflict' };
    }
    log.error('committing the state failed; nothing applied', { error: describe(error) });
    await emit(ports.metrics, errorData(environment, nowMs), log);
    return { kind: 'error', stage: 'commit', error };
  }

  let scaleEvents = 0;
  let failedUpdates = 0;
  for (const name of SERVICE_ORDER) {
    const d = decision.services[name];
    log.info(d.reason, {
      // Not `service`: Powertools' Logger reserves that key (its own service name) and drops ours.
      tier: name,
      inputs: load.services[name],
      capacity: d.capacity,
      recommendation: d.recommendation,
      desiredCount: d.desiredCount,
      needs: d.needs,
      clamps: d.clamps,
      budgetLimited: d.budgetLimited,
      budget: decision.budget,
    });
    if (!d.changed) continue;
    try {
      await ports.services[name].setDesiredCount(d.desiredCount);
      scaleEvents++;
    } catch (error) {
      failedUpdates++;
      log.error('UpdateService failed; the next tick reads the real count and decides again', {
        tier: name,
        desiredCount: d.desiredCount,
        error: describe(error),
      });
    }
  }
  await emit(ports.metrics, decisionData(decision, counts, environment, nowMs, scaleEvents, failedUpdates), log);
  return { kind: 'applied', decision, scaleEvents, failedUpdates };
}

function decisionData(
  decision: TickDecision,
  counts: readonly Capacity[],
  environment: string,
  nowMs: number,
  scaleEvents: number,
  failedUpdates: number,
): MetricDatum[] {
  const timestamp = new Date(nowMs);
  const env = { [DIMENSIONS.environment]: environment };
  const datum = (
    name: string,
    value: number,
    dimensions: Record<string, string> = env,
    unit: MetricDatum['unit'] = 'Count',
  ): MetricDatum => ({
    name,
    unit,
    timestamp,
    dimensions,
    value,
  });
  const data: MetricDatum[] = [];
  SERVICE_ORDER.forEach((name, i) => {
    const d = decision.services[name];
    const dims = { ...env, [DIMENSIONS.service]: name };
    data.push(
      datum(AUTOSCALER_METRICS.desiredCount, d.desiredCount, dims),
      datum(AUTOSCALER_METRICS.runningCount, (counts[i] as Capacity).running, dims),
      datum(AUTOSCALER_METRICS.budgetLimited, d.budgetLimited ? 1 : 0, dims),
    );
  });
  const b = decision.budget;
  data.push(
    datum(AUTOSCALER_METRICS.spendUsd, b.spendUsd, env, 'None'),
    datum(AUTOSCALER_METRICS.budgetRemainingUsd, b.remainingUsd, env, 'None'),
    datum(AUTOSCALER_METRICS.projectedSpendUsd, b.projectedSpendUsd, env, 'None'),
    datum(AUTOSCALER_METRICS.budgetLimited, SERVICE_ORDER.some((n) => decision.services[n].budgetLimited) ? 1 : 0),
    datum(AUTOSCALER_METRICS.scaleEvents, scaleEvents),
    datum(AUTOSCALER_METRICS.ticks, 1),
    datum(AUTOSCALER_METRICS.errors, failedUpdates > 0 ? 1 : 0),
  );
  return data;
}

function errorData(environment: string, nowMs: number): MetricDatum[] {
  return [
    {
      name: AUTOSCALER_METRICS.errors,
      unit: 'Count',
      timestamp: new Date(nowMs),
      dimensions: { [DIMENSIONS.environment]: environment },
      value: 1,
    },
  ];
}

/** Metrics are best effort: a failure to publish them is logged and never fails the tick. */
async function emit(sink: MetricsSink, data: readonly MetricDatum[], log: TickLog): Promise<void> {
  try {
    await sink.publish(data);
  } catch (error) {
    log.warn('publishing the tick metrics failed', { error: describe(error) });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
