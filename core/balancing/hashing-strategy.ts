import { sortedById } from '../util/by-id.js';
import type { Backend, Demand, FleetLoad } from './backend.js';
import { type HashSpace, HashSpaceTracker } from './hash-space.js';
import type { HashTable } from './hash-table.js';
import type { Strategy } from './strategy.js';

/** HAProxy's hash-balance-factor 125 and the paper's recommended c. */
export const DEFAULT_BOUND_FACTOR = 1.25;

/**
 * Consistent hashing over a ring, Maglev or legacy table, optionally with
 * bounded load (Mirrokni, Thorup, Zadimoghaddam: "Consistent Hashing with
 * Bounded Loads"): a backend may hold at most about c × its weighted share
 * of the requests in flight (see `capacity`); past that the walk continues to
 * the next owner with room. Unavailable backends and the retry's `exclude`
 * are skipped the same way, so keys of every other backend stay put.
 */
export class HashingStrategy implements Strategy {
  readonly usesKey = true;
  readonly usesDemand = false;
  readonly name: string;
  private backends: Backend[] = [];
  private availableWeight = 0;
  private readonly space: HashSpaceTracker;

  /**
   * @param boundFactor c > 1 turns bounded load on; 0 turns it off.
   * @param now clock for the time of membership changes in `hashSpace`.
   */
  constructor(
    private readonly table: HashTable,
    private readonly load: FleetLoad,
    private readonly boundFactor = 0,
    now: () => number = Date.now,
  ) {
    if (boundFactor !== 0 && !(boundFactor > 1)) {
      throw new RangeError(`boundFactor: must be 0 (off) or greater than 1, got ${boundFactor}`);
    }
    this.name = boundFactor > 0 ? `${table.algorithm}-bounded` : table.algorithm;
    this.space = new HashSpaceTracker(table.algorithm, now);
  }

  rebuild(backends: readonly Backend[]): void {
    const sorted = sortedById(backends);
    this.table.build(
      sorted.map((b) => b.id),
      sorted.map((b) => b.effectiveWeight),
    );
    this.backends = sorted;
    this.availableWeight = sorted.reduce((sum, b) => (b.available ? sum + b.effectiveWeight : sum), 0);
    this.space.rebuilt(this.table.keySpace());
  }

  /** The table's split of the key space (unavailable members still own their part; lookups walk past them). */
  hashSpace(): HashSpace {
    return this.space.report();
  }

  keyHash(key: string): number {
    return this.table.keyHash(key);
  }

  pick(keyHash: number, _demand: Demand, exclude: Backend | undefined): Backend | undefined {
    const backends = this.backends;
    if (backends.length === 0 || this.availableWeight === 0) return undefined;
    const bounded = this.boundFactor > 0;
    // Mean in-flight per unit of weight now, and once this request is placed.
    const meanPerWeight = this.load.inflight / this.availableWeight;
    const placedMeanPerWeight = (this.load.inflight + 1) / this.availableWeight;
    const table = this.table;
    let slot = table.slotFor(keyHash);
    let fullButUsable: Backend | undefined;
    for (let step = 0; step < table.size; step++) {
      const b = backends[table.ownerAt(slot)] as Backend;
      if (b.available && b !== exclude) {
        if (!bounded || b.inflight < this.capacity(meanPerWeight, placedMeanPerWeight, b.effectiveWeight)) return b;
        fullButUsable ??= b;
      }
      slot = table.nextSlot(slot);
    }
    if (fullButUsable) return fullButUsable;
    return exclude?.available ? exclude : undefined;
  }

  /**
   * The paper's cap is ceil(c × (m + 1) / n), which at small means lets a
   * server sit visibly above c × mean (ceil(1.25 × 257 / 10) = 33 = 1.29 × the
   * mean of 25.6). floor(c × m / n) keeps it at or below c × mean; ceil((m + 1)
   * / n) keeps room for every request (the caps still sum to at least m + 1),
   * whichever is larger. Both scale with the backend's weight.
   */
  private capacity(meanPerWeight: number, placedMeanPerWeight: number, weight: number): number {
    return Math.max(Math.ceil(placedMeanPerWeight * weight), Math.floor(this.boundFactor * meanPerWeight * weight));
  }
}
