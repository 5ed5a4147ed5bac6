import { type DecisionRecord, StateConflictError, type StoredState } from '#core/aws/autoscaler-state-store.js';
import type { MetricDatum, MetricsSink } from '#core/ports/metrics-sink.js';
import type { Capacity } from '#core/ports/scaler.js';
import { AUTOSCALER_METRICS, DIMENSIONS, type ServiceName } from '#core/telemetry/metric-names.js';
import { usdPerTaskMs } from './budget.js';
import type { ServiceMetrics, TaskSpan } from './inputs.js';
import { MS_PER_HOUR } from './period.js';
import { decide, type PersistedState, parseState, type TickDecision } from './policy.js';
import type { LoadReading, ServiceCounts, TickLog, TickPorts } from './ports.js';
import { type AutoscalerSettings, SERVICE_ORDER } from './settings.js';

export type TickOutcome =
  | {
      readonly kind: 'applied';
      readonly decision: TickDecision;
      readonly scaleEvents: number;
      readonly failedUpdates: number;
      /** The load could not be read: the tick billed and capped on the state and ECS's counts alone. */
      readonly loadUnavailable: boolean;
    }
  | { readonly kind: 'conflict' }
  /** The state item could not be read: both tiers were set to their minimum and nothing was committed. */
  | { readonly kind: 'stateUnreadable'; readonly reason: string; readonly failedUpdates: number }
  | { readonly kind: 'error'; readonly stage: 'read' | 'commit'; readonly error: unknown };

/**
 * One autoscaler tick: read state, ECS counts and load; decide; commit the
 * next state conditionally; only then call UpdateService where a count
 * changed; emit the decision's metrics. The conditional commit comes first,
 * so an overlapping invocation that loses the race applies nothing.
 *
 * The budget needs only the state item and ECS's counts, so the tick fails
 * closed: when the load cannot be read (CloudWatch down) it still bills the
 * interval and applies the cap, allowing only reductions; when the state
 * item is unreadable or of a newer format, it sets both tiers to their
 * minimum and says why (log, StateUnreadable metric), every tick, until an
 * operator repairs or deletes the item. A failed read of the state item
 * or of ECS changes nothing: the next tick tries again, and if ticks keep
 * failing the failsafe (infra/constructs/autoscaler-failsafe.ts) takes both
 * tiers to their minimum. An UpdateService error after the commit is
 * corrected next tick, which reads ECS's real counts again.
 */
export async function runTick(
  ports: TickPorts,
  settings: AutoscalerSettings,
  environment: string,
  log: TickLog,
  nowMs: number,
): Promise<TickOutcome> {
  let stored: StoredState;
  let counts: Capacity[];
  let load: LoadReading | undefined;
  let lives: (readonly TaskSpan[] | undefined)[];
  try {
    [stored, counts, load, lives] = await Promise.all([
      ports.state.load(),
      Promise.all(SERVICE_ORDER.map((name) => ports.services[name].describe())),
      ports.load.read(nowMs).catch((error: unknown) => {
        log.error('reading the load failed; billing and capping on ECS counts alone, reductions only', {
          error: describe(error),
        });
        return undefined;
      }),
      Promise.all(SERVICE_ORDER.map((name) => readTaskLives(ports.services[name], name, nowMs, log))),
    ]);
  } catch (error) {
    log.error('tick read failed; nothing changed', { error: describe(error) });
    await emit(ports.metrics, errorData(environment, nowMs), log);
    return { kind: 'error', stage: 'read', error };
  }
  let state: PersistedState | undefined;
  try {
    state = stored.state === undefined ? undefined : parseState(stored.state);
  } catch (error) {
    return holdAtMinimum(ports, settings, environment, log, nowMs, counts, error);
  }
  const loadUnavailable = load === undefined;
  const observation = (name: ServiceName, i: number) => {
    const c = counts[i] as Capacity;
    return {
      runningCount: c.running,
      pendingCount: c.pending,
      desiredCount: c.desired,
      metrics: load?.services[name] ?? NO_METRICS,
      tasks: lives[i],
    };
  };
  const decision = decide({
    nowMs,
    services: { proxy: observation('proxy', 0), servers: observation('servers', 1) },
    history: load?.history,
    state,
    settings,
    loadUnavailable,
    servicesSinceMs: oldest(counts.map((c) => c.createdMs)),
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
        belowMinimum: decision.budget.belowMinimum,
        ...(Number.isFinite(decision.budget.extraUsd) ? { extraUsd: decision.budget.extraUsd } : {}),
      },
      addLimits: Object.fromEntries(
        SERVICE_ORDER.map((name) => [
          name,
          {
            maxCount: settings.services[name].maxCount,
            budgetCap: decision.budget.hardCaps[name],
            usdPerTaskHour: usdPerTaskMs(settings.services[name], settings) * MS_PER_HOUR,
          },
        ]),
      ),
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
      inputs: load?.services[name] ?? 'unavailable',
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
  if (decision.budget.belowMinimum) {
    log.error(
      'BELOW MINIMUM: the money left cannot pay the minimum counts to the end of the period; both tiers stay at their minimum and the budget will be overrun',
      { budget: decision.budget },
    );
  }
  await emit(
    ports.metrics,
    decisionData(decision, counts, environment, nowMs, scaleEvents, failedUpdates, loadUnavailable),
    log,
  );
  return { kind: 'applied', decision, scaleEvents, failedUpdates, loadUnavailable };
}

/**
 * The tier's task lives for the ledger, or undefined (billing on the counts
 * alone, which miss only stopping tasks and replacements) when ECS would not
 * list them: a tick is not given up for the finer half of its bill.
 */
async function readTaskLives(
  service: ServiceCounts,
  name: ServiceName,
  nowMs: number,
  log: TickLog,
): Promise<readonly TaskSpan[] | undefined> {
  if (!service.taskLives) return undefined;
  try {
    return await service.taskLives(nowMs);
  } catch (error) {
    log.warn('listing the tasks failed; the ledger bills this tier on its counts alone', {
      tier: name,
      error: describe(error),
    });
    return undefined;
  }
}

function oldest(times: readonly (number | undefined)[]): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
}

/** What the policy sees of a tier when the load could not be read: no signal, and incomplete. */
const NO_METRICS: ServiceMetrics = { complete: false };

/**
 * The state item cannot be read, so neither the spend so far nor the
 * stabilisation windows are known: the only count that cannot overspend is
 * the minimum (config validation makes the budget pay it for a whole
 * period). The item is left as it is, since overwriting it would lose the
 * ledger that a newer autoscaler, or an operator, can still read.
 */
async function holdAtMinimum(
  ports: TickPorts,
  settings: AutoscalerSettings,
  environment: string,
  log: TickLog,
  nowMs: number,
  counts: readonly Capacity[],
  error: unknown,
): Promise<TickOutcome> {
  const reason = describe(error);
  log.error('the state item is unreadable; both tiers go to their minimum until it is repaired or deleted', {
    error: reason,
  });
  let failedUpdates = 0;
  for (const [i, name] of SERVICE_ORDER.entries()) {
    const minimum = settings.services[name].minCount;
    if ((counts[i] as Capacity).desired === minimum) continue;
    try {
      await ports.services[name].setDesiredCount(minimum);
    } catch (updateError) {
      failedUpdates++;
      log.error('UpdateService to the minimum failed', { tier: name, error: describe(updateError) });
    }
  }
  const env = { [DIMENSIONS.environment]: environment };
  const timestamp = new Date(nowMs);
  await emit(
    ports.metrics,
    [
      { name: AUTOSCALER_METRICS.stateUnreadable, unit: 'Count', timestamp, dimensions: env, value: 1 },
      { name: AUTOSCALER_METRICS.errors, unit: 'Count', timestamp, dimensions: env, value: 1 },
    ],
    log,
  );
  return { kind: 'stateUnreadable', reason, failedUpdates };
}

function decisionData(
  decision: TickDecision,
  counts: readonly Capacity[],
  environment: string,
  nowMs: number,
  scaleEvents: number,
  failedUpdates: number,
  loadUnavailable: boolean,
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
    datum(AUTOSCALER_METRICS.errors, failedUpdates > 0 || loadUnavailable ? 1 : 0),
    datum(AUTOSCALER_METRICS.belowMinimum, b.belowMinimum ? 1 : 0),
    datum(AUTOSCALER_METRICS.loadUnavailable, loadUnavailable ? 1 : 0),
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
