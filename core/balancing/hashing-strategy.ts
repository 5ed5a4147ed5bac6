import type { Backend, Demand, FleetLoad } from './backend.js';
import type { HashTable } from './hash-table.js';
import { sortedById } from './sorted.js';
import type { Strategy } from './strategy.js';

/** HAProxy's hash-balance-factor 125 and the paper's recommended c. */
export const DEFAULT_BOUND_FACTOR = 1.25;

/**
 * Consistent hashing over a ring, Maglev or legacy table, optionally with
 * bounded load (Mirrokni, Thorup, Zadimoghaddam: "Consistent Hashing with
 * Bounded Loads"): a backend may hold at most ceil(c × (in-flight + 1) ×
 * its weight share) requests; past that the walk continues to the next owner
 * with room. Unavailable backends and the retry's `exclude` are skipped the
 * same way, so keys of every other backend stay where they were.
 */
export class HashingStrategy implements Strategy {
  readonly usesKey = true;
  readonly name: string;
  private backends: Backend[] = [];
  private availableWeight = 0;

  /** @param boundFactor c > 1 turns bounded load on; 0 turns it off. */
  constructor(
    private readonly table: HashTable,
    private readonly load: FleetLoad,
    private readonly boundFactor = 0,
  ) {
    if (boundFactor !== 0 && !(boundFactor > 1)) {
      throw new RangeError(`boundFactor: must be 0 (off) or greater than 1, got ${boundFactor}`);
    }
    this.name = boundFactor > 0 ? `${table.algorithm}-bounded` : table.algorithm;
  }

  rebuild(backends: readonly Backend[]): void {
    const sorted = sortedById(backends);
    this.table.build(
      sorted.map((b) => b.id),
      sorted.map((b) => b.effectiveWeight),
    );
    this.backends = sorted;
    this.availableWeight = sorted.reduce((sum, b) => (b.available ? sum + b.effectiveWeight : sum), 0);
  }

  keyHash(key: string): number {
    return this.table.keyHash(key);
  }

  pick(keyHash: number, _demand: Demand, exclude: Backend | undefined): Backend | undefined {
    const backends = this.backends;
    if (backends.length === 0 || this.availableWeight === 0) return undefined;
    // Capacity per unit of weight; Infinity when bounded load is off.
    const capacityPerWeight =
      this.boundFactor > 0
        ? (this.boundFactor * (this.load.inflight + 1)) / this.availableWeight
        : Number.POSITIVE_INFINITY;
    const table = this.table;
    let slot = table.slotFor(keyHash);
    let fullButUsable: Backend | undefined;
    for (let step = 0; step < table.size; step++) {
      const b = backends[table.ownerAt(slot)] as Backend;
      if (b.available && b !== exclude) {
        if (b.inflight < Math.ceil(capacityPerWeight * b.effectiveWeight)) return b;
        fullButUsable ??= b;
      }
      slot = table.nextSlot(slot);
    }
    if (fullButUsable) return fullButUsable;
    return exclude?.available ? exclude : undefined;
  }
}
