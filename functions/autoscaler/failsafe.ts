/**
 * The dead-man's switch: when no autoscaler tick has committed for
 * `failsafeAfterMinutes`, an alarm on the Ticks metric invokes this, and it
 * lowers both tiers to their minimum counts. It shares nothing with the tick
 * but the ECS client: no state item, no ledger, no CloudWatch read, no
 * settings beyond the minimum counts, so whatever stopped the tick (a bad
 * deploy of the autoscaler, its state table, CloudWatch, the schedule)
 * cannot stop it too. It only ever lowers a count: the minimum is what the
 * budget always reserves to the end of the period, so from here spend stays
 * inside it until the tick is back.
 */
import type { ServiceName } from '#core/telemetry/metric-names.js';
import type { ServiceCounts, TickLog } from './ports.js';

export interface FailsafeTier {
  readonly service: Pick<ServiceCounts, 'describe' | 'setDesiredCount'>;
  readonly minCount: number;
}

export interface FailsafeResult {
  /** Per tier, the desired count before and after. */
  readonly tiers: Readonly<Record<string, { readonly from: number; readonly to: number }>>;
  /** Tiers whose describe or update failed (each is tried; the others still act). */
  readonly failed: readonly string[];
}

/** Lowers each tier above its minimum to the minimum; a tier at or below it is left alone. */
export async function lowerToMinimum(
  tiers: Readonly<Record<ServiceName, FailsafeTier>>,
  log: TickLog,
): Promise<FailsafeResult> {
  const out: Record<string, { from: number; to: number }> = {};
  const failed: string[] = [];
  await Promise.all(
    (Object.entries(tiers) as [ServiceName, FailsafeTier][]).map(async ([name, tier]) => {
      try {
        const { desired } = await tier.service.describe();
        const to = Math.min(desired, tier.minCount);
        if (to < desired) await tier.service.setDesiredCount(to);
        out[name] = { from: desired, to };
      } catch (error) {
        failed.push(name);
        log.error('failsafe could not lower the tier', {
          tier: name,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
    }),
  );
  log.warn('FAILSAFE: no autoscaler tick committed in time; tiers lowered to their minimum counts', {
    tiers: out,
    failed,
  });
  return { tiers: out, failed };
}
