/**
 * A consistent-hash lookup structure: a circle of slots, each owned by one
 * backend (by index into the id list given to `build`). Lookups start at
 * `slotFor(hash)` and walk `nextSlot` to find the next acceptable owner, which
 * is how health, retries and bounded load all skip a backend without moving
 * anyone else's keys.
 */
import type { KeySpace } from './key-space.js';

export interface HashTable {
  readonly algorithm: string;
  /** Number of slots; a walk never needs more steps than this. */
  readonly size: number;
  /** Rebuilds from ids sorted ascending and their weights (same order). */
  build(ids: readonly string[], weights: readonly number[]): void;
  keyHash(key: string): number;
  slotFor(hash: number): number;
  ownerAt(slot: number): number;
  nextSlot(slot: number): number;
  /**
   * The last build's split of the key space, for reports (ownership, keys
   * moved by a membership change). Called after a rebuild, never per lookup.
   */
  keySpace(): KeySpace;
}
