/**
 * The autoscaler's persisted state: one JSON item, written by the handler
 * with a condition on `version` so two overlapping ticks cannot both commit.
 */
import { z } from 'zod';
import type { ServiceName } from '#core/telemetry/metric-names.js';

/** Bumped when the shape changes; parseState refuses other formats rather than guess. */
export const STATE_FORMAT = 1;

export interface Recommendation {
  readonly atMs: number;
  readonly count: number;
}

export interface ServiceState {
  /** The count this policy last asked ECS for: what the ledger bills until the next tick. */
  readonly lastDesired: number;
  /** Running plus pending at the last tick, to spot newly started tasks (one-minute minimum). */
  readonly lastBillable: number;
  /** Load recommendations inside the scale-in window, oldest first. */
  readonly recentRecommendations: readonly Recommendation[];
  readonly lastScaleOutMs: number | null;
}

export interface PersistedState {
  readonly format: typeof STATE_FORMAT;
  /** Optimistic-concurrency counter: the next state carries version + 1. */
  readonly version: number;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  /** Ledger: dollars accrued in the current period. */
  readonly spendUsd: number;
  readonly lastTickMs: number;
  readonly services: Readonly<Record<ServiceName, ServiceState>>;
}

/**
 * A ledger begun part-way through a period: `spendUsd` already spent and each tier running `counts`, as if a
 * tick at `nowMs` had just committed. The local run seeds one (RINGMASTER_SPENT_USD), and the simulator's
 * month rollover starts its replays from one.
 */
export function ledgerStartedAt(
  period: { readonly startMs: number; readonly endMs: number },
  nowMs: number,
  spendUsd: number,
  counts: Readonly<Record<ServiceName, number>>,
  version: number,
): PersistedState {
  const service = (count: number): ServiceState => ({
    lastDesired: count,
    lastBillable: count,
    recentRecommendations: [],
    lastScaleOutMs: null,
  });
  return {
    format: STATE_FORMAT,
    version,
    periodStartMs: period.startMs,
    periodEndMs: period.endMs,
    spendUsd,
    lastTickMs: nowMs,
    services: { proxy: service(counts.proxy), servers: service(counts.servers) },
  };
}

/** Persisted state that is not what this code wrote; names the field. */
export class StateError extends Error {
  override readonly name = 'StateError';
}

const serviceState = z
  .object({
    lastDesired: z.number().int().min(0),
    lastBillable: z.number().int().min(0),
    recentRecommendations: z.array(z.object({ atMs: z.number(), count: z.number().int().min(0) }).strict()),
    lastScaleOutMs: z.number().nullable(),
  })
  .strict();

const stateSchema = z
  .object({
    format: z.literal(STATE_FORMAT),
    version: z.number().int().min(0),
    periodStartMs: z.number(),
    periodEndMs: z.number(),
    spendUsd: z.number().min(0),
    lastTickMs: z.number(),
    services: z.object({ proxy: serviceState, servers: serviceState }).strict(),
  })
  .strict();

/**
 * Checks an item read back from the store. An item of a newer format (a
 * newer autoscaler wrote it, then this one was rolled back to) is refused by
 * name: its ledger cannot be read, so it must not be overwritten either.
 */
export function parseState(item: unknown): PersistedState {
  const format = (item as { format?: unknown } | null | undefined)?.format;
  if (typeof format === 'number' && format > STATE_FORMAT) {
    throw new StateError(
      `persisted autoscaler state: format: ${format} was written by a newer autoscaler; this one reads format ${STATE_FORMAT}`,
    );
  }
  const result = stateSchema.safeParse(item);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue ? issue.path.join('.') || 'state' : 'state';
  throw new StateError(`persisted autoscaler state: ${where}: ${issue?.message ?? 'invalid'}`, { cause: result.error });
}
