import { hash32 } from '../hash/hash32.js';
import type { HashTable } from './hash-table.js';
import { EMPTY_KEY_SPACE, type KeySpace } from './key-space.js';

/** Maglev's recommended table size: a prime well above 100 × backends. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

const OFFSET_SEED = 0x9e3779b9;
const SKIP_SEED = 0x7f4a7c15;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/**
 * Maglev hashing (Eisenbud et al., NSDI 2016) with Envoy's weighted fill: each
 * backend walks its own permutation of the table and claims free entries in
 * turn, a backend of weight w taking w/maxWeight turns per round. Every entry
 * belongs to someone, entry counts differ by at most about one per backend
 * (near-perfect balance), and a membership change moves few keys.
 */
export class MaglevTable implements HashTable {
  readonly algorithm = 'maglev';
  private table: Int32Array;
  private ids: readonly string[] = [];
  /** Slot i's arc ends at (i + 1) / size; the same for every build, so made once, when first asked. */
  private slotEnds: Float64Array | undefined;

  constructor(readonly size = DEFAULT_MAGLEV_TABLE_SIZE) {
    if (!isPrime(size)) throw new RangeError(`tableSize: must be prime, got ${size}`);
    this.table = new Int32Array(0);
  }

  build(ids: readonly string[], weights: readonly number[]): void {
    const m = this.size;
    const n = ids.length;
    const table = new Int32Array(n === 0 ? 0 : m).fill(-1);
    if (n > 0) {
      const position = new Float64Array(n);
      const skip = new Float64Array(n);
      const share = new Float64Array(n);
      const taken = new Float64Array(n);
      const maxWeight = Math.max(...weights.slice(0, n));
      for (let i = 0; i < n; i++) {
        const id = ids[i] as string;
        position[i] = hash32(id, OFFSET_SEED) % m;
        skip[i] = (hash32(id, SKIP_SEED) % (m - 1)) + 1;
        share[i] = maxWeight > 0 ? (weights[i] ?? 0) / maxWeight : 1;
      }
      let filled = 0;
      for (let round = 1; filled < m; round++) {
        for (let i = 0; i < n && filled < m; i++) {
          if ((taken[i] as number) >= round * (share[i] as number)) continue;
          let slot = position[i] as number;
          while ((table[slot] as number) >= 0) slot = (slot + (skip[i] as number)) % m;
          table[slot] = i;
          position[i] = (slot + (skip[i] as number)) % m;
          taken[i] = (taken[i] as number) + 1;
          filled++;
        }
      }
    }
    this.table = table;
    this.ids = [...ids];
  }

  keyHash(key: string): number {
    return hash32(key);
  }

  slotFor(hash: number): number {
    return hash % this.size;
  }

  ownerAt(slot: number): number {
    return this.table[slot] as number;
  }

  nextSlot(slot: number): number {
    return slot + 1 === this.size ? 0 : slot + 1;
  }

  /**
   * Slot s holds the keys whose hash is s mod size, so each slot is 1/size
   * of the key space (to within 2^32 mod size, which is negligible).
   */
  keySpace(): KeySpace {
    if (this.table.length === 0) return EMPTY_KEY_SPACE;
    const m = this.size;
    this.slotEnds ??= Float64Array.from({ length: m }, (_, s) => (s + 1) / m);
    return { ids: this.ids, ends: this.slotEnds, owners: this.table };
  }
}
