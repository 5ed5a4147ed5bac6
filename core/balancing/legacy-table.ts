import { hash32 } from '../hash/hash32.js';
import type { HashTable } from './hash-table.js';
import { EMPTY_KEY_SPACE, type KeySpace } from './key-space.js';

/** The seed's balancers' fixed configuration: 512 slots, 9 virtual servers per server. */
export const LEGACY_SLOTS = 512;
export const LEGACY_VIRTUAL_SERVERS = 9;

const DIGITS = /^\d{1,15}$/;

/**
 * The consistent hash map of the seed's balancers this project replaces, kept so
 * the benchmark can show what changed: 512 slots, 9 virtual servers per
 * server placed at Φ(i, j) = i² + j² + 2j + 25 with quadratic probing on
 * collision, and requests at H(i) = i² + 2i + 17, walking clockwise. The
 * seed servers had random 6-digit ids; here a server's number is a
 * 6-digit number hashed from its id, so every replica derives the same one.
 * Numeric keys are used as i directly (the clients' numeric request ids), other
 * keys are hashed first. Weights are ignored, as they were.
 */
export class LegacyTable implements HashTable {
  readonly algorithm = 'legacy';
  readonly size = LEGACY_SLOTS;
  private slots = new Int32Array(LEGACY_SLOTS).fill(-1);
  private occupied = 0;
  private ids: readonly string[] = [];

  build(ids: readonly string[], _weights: readonly number[]): void {
    const slots = new Int32Array(LEGACY_SLOTS).fill(-1);
    let occupied = 0;
    ids.forEach((id, owner) => {
      const i = serverNumber(id);
      for (let j = 0; j < LEGACY_VIRTUAL_SERVERS && occupied < LEGACY_SLOTS; j++) {
        const home = mod512(i * i + j * j + 2 * j + 25);
        for (let k = 0; k < LEGACY_SLOTS; k++) {
          const slot = mod512(home + k * k);
          if (slots[slot] === -1) {
            slots[slot] = owner;
            occupied++;
            break;
          }
        }
      }
    });
    this.slots = slots;
    this.occupied = occupied;
    this.ids = [...ids];
  }

  keyHash(key: string): number {
    const i = DIGITS.test(key) ? Number(key) % LEGACY_SLOTS : hash32(key) % LEGACY_SLOTS;
    return mod512(i * i + 2 * i + 17);
  }

  slotFor(hash: number): number {
    if (this.occupied === 0) return 0;
    let slot = hash % LEGACY_SLOTS;
    while (this.slots[slot] === -1) slot = slot + 1 === LEGACY_SLOTS ? 0 : slot + 1;
    return slot;
  }

  ownerAt(slot: number): number {
    return this.slots[slot] as number;
  }

  nextSlot(slot: number): number {
    let next = slot;
    do next = next + 1 === LEGACY_SLOTS ? 0 : next + 1;
    while (this.slots[next] === -1 && next !== slot);
    return next;
  }

  /**
   * Each of the 512 hash positions goes to the first occupied slot at or
   * after it. This is the table's split, not the traffic's: H(i) = i² + 2i + 17
   * reaches only some positions, which is part of what the benchmark shows.
   */
  keySpace(): KeySpace {
    if (this.occupied === 0) return EMPTY_KEY_SPACE;
    const ends = Float64Array.from({ length: LEGACY_SLOTS }, (_, p) => (p + 1) / LEGACY_SLOTS);
    const owners = Int32Array.from({ length: LEGACY_SLOTS }, (_, p) => this.slots[this.slotFor(p)] as number);
    return { ids: this.ids, ends, owners };
  }
}

/** A 6-digit server number, like the seed's servers' random ids. */
function serverNumber(id: string): number {
  return 100_000 + (hash32(id) % 900_000);
}

/** x mod 512 for any integer-valued x, also beyond 2^53 where only the low bits matter. */
function mod512(x: number): number {
  return ((x % LEGACY_SLOTS) + LEGACY_SLOTS) % LEGACY_SLOTS;
}
