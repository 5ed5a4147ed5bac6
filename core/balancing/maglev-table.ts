import { hash32 } from '../hash/hash32.js';
import type { HashTable } from './hash-table.js';
import { EMPTY_KEY_SPACE, type KeySpace } from './key-space.js';

/**
 * The most members a hash table is built for: the fleet's documented maximum
 * (cdk.json's servers.maxCount allows up to 1,000), which MAX_SERVERS gates.
 */
export const MAX_TABLE_MEMBERS = 1000;

/**
 * Maglev's guidance is a prime well above 100 × backends (the paper's M ≥
 * 100 N keeps every backend within about 1% of its share). 131071 (2^17 − 1,
 * prime) is 131 × MAX_TABLE_MEMBERS: at 1,000 members every server holds
 * within 1% of the mean, a build takes about 10-20 ms (bench:control-plane's
 * maglevRebuildMs), and the table is 512 KB. One size for every fleet on
 * purpose: growing the table with the fleet would move almost every key.
 */
export const DEFAULT_MAGLEV_TABLE_SIZE = 131071;

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
      // The walk runs about m × ln m steps of random access. Integer arrays, a subtraction instead of
      // `%`, and a one-byte `used` map (a quarter of the table's size, so it stays in cache) took a
      // build at 1,000 members (m = 131071) from about 270 ms to about 10 ms.
      const used = new Uint8Array(m);
      const position = new Int32Array(n);
      const skip = new Int32Array(n);
      const share = new Float64Array(n);
      const taken = new Float64Array(n);
      let maxWeight = 0;
      for (let i = 0; i < n; i++) maxWeight = Math.max(maxWeight, weights[i] ?? 0);
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
          const step = skip[i] as number;
          let slot = position[i] as number;
          while (used[slot] !== 0) {
            slot += step;
            if (slot >= m) slot -= m;
          }
          used[slot] = 1;
          table[slot] = i;
          slot += step;
          position[i] = slot >= m ? slot - m : slot;
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
