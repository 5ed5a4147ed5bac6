import { describe, expect, it } from 'vitest';
import { FleetLoad } from '#core/balancing/backend.js';
import { HashingStrategy } from '#core/balancing/hashing-strategy.js';
import { movedFraction, ownershipOf } from '#core/balancing/key-space.js';
import { LegacyTable } from '#core/balancing/legacy-table.js';
import { MaglevTable } from '#core/balancing/maglev-table.js';
import { RingTable } from '#core/balancing/ring-table.js';
import { keysFrom, makeBackends, route } from '../helpers/backends.js';

const TABLES = {
  maglev: () => new MaglevTable(),
  ring: () => new RingTable(),
  legacy: () => new LegacyTable(),
} as const;

const ids = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);
const ones = (n: number) => Array.from({ length: n }, () => 1);
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

describe.each(Object.keys(TABLES) as (keyof typeof TABLES)[])('%s key space', (name) => {
  it('gives every member a share, and the shares sum to 1', () => {
    for (const n of [1, 2, 3, 7, 10]) {
      const table = TABLES[name]();
      table.build(ids(n), ones(n));
      const shares = ownershipOf(table.keySpace());
      expect([...shares.keys()]).toEqual(ids(n));
      expect(sum(shares.values())).toBeCloseTo(1, 9);
    }
  });

  it("hands a removed server's share to the others", () => {
    const table = TABLES[name]();
    table.build(ids(5), ones(5));
    const before = table.keySpace();
    const removedShare = ownershipOf(before).get('s3') ?? 0;
    table.build(['s1', 's2', 's4', 's5'], ones(4));
    const after = table.keySpace();
    const shares = ownershipOf(after);
    expect(shares.has('s3')).toBe(false);
    expect(sum(shares.values())).toBeCloseTo(1, 9);
    // At least the removed server's keys moved, and (consistent hashing) not many more.
    const moved = movedFraction(before, after);
    expect(moved).toBeGreaterThanOrEqual(removedShare - 1e-9);
    if (name !== 'legacy') expect(moved).toBeLessThan(removedShare * 1.5);
  });

  it('reports no movement between two builds of the same membership', () => {
    const table = TABLES[name]();
    table.build(ids(4), ones(4));
    const first = table.keySpace();
    table.build(ids(4), ones(4));
    expect(movedFraction(first, table.keySpace())).toBe(0);
  });

  it('reports an empty table as owning nothing, and a first build as moving everything', () => {
    const table = TABLES[name]();
    table.build([], []);
    const empty = table.keySpace();
    expect(ownershipOf(empty).size).toBe(0);
    table.build(ids(2), ones(2));
    expect(movedFraction(empty, table.keySpace())).toBe(1);
    expect(movedFraction(empty, empty)).toBe(0);
  });
});

describe('moved fraction', () => {
  it('is about 1/N for Maglev when the N-th server joins', () => {
    for (const n of [3, 5, 8]) {
      const table = new MaglevTable();
      table.build(ids(n - 1), ones(n - 1));
      const before = table.keySpace();
      table.build(ids(n), ones(n));
      const moved = movedFraction(before, table.keySpace());
      expect(moved).toBeGreaterThanOrEqual(1 / n - 0.01);
      expect(moved).toBeLessThan((1 / n) * 1.15);
    }
  });

  it('is exactly the newcomer’s share on the ring (it takes arcs, nobody else moves)', () => {
    const table = new RingTable();
    table.build(ids(4), ones(4));
    const before = table.keySpace();
    table.build(ids(5), ones(5));
    const after = table.keySpace();
    expect(movedFraction(before, after)).toBeCloseTo(ownershipOf(after).get('s5') ?? 0, 9);
  });

  it.each(['maglev', 'ring'] as const)('matches the share of keys that %s routes elsewhere', (name) => {
    const strategy = new HashingStrategy(TABLES[name](), new FleetLoad());
    const keys = keysFrom(20_000);
    strategy.rebuild(makeBackends(ids(4)));
    const before = route(strategy, keys);
    strategy.rebuild(makeBackends(ids(5)));
    const after = route(strategy, keys);
    const movedKeys = before.filter((id, i) => id !== after[i]).length / keys.length;
    expect(strategy.hashSpace().lastChange?.movedFraction).toBeCloseTo(movedKeys, 1);
  });
});

describe('HashingStrategy.hashSpace', () => {
  it('records joins and leaves with their time, and ignores rebuilds that keep the members', () => {
    let now = 1_000;
    const strategy = new HashingStrategy(new MaglevTable(), new FleetLoad(), 0, () => now);
    expect(strategy.hashSpace()).toEqual({ algorithm: 'maglev', shares: [], lastChange: null });

    strategy.rebuild(makeBackends(['a', 'b', 'c']));
    expect(strategy.hashSpace().lastChange).toEqual({ at: 1_000, joined: ['a', 'b', 'c'], left: [], movedFraction: 1 });

    now = 2_000;
    strategy.rebuild(makeBackends(['a', 'b', 'd']));
    const change = strategy.hashSpace().lastChange;
    expect(change).toMatchObject({ at: 2_000, joined: ['d'], left: ['c'] });
    // At least c's third moved; with three servers Maglev also reshuffles some of the others' slots.
    expect(change?.movedFraction).toBeGreaterThan(0.3);
    expect(change?.movedFraction).toBeLessThan(0.6);

    now = 3_000;
    // A weight change (slow start, health) rebuilds the table but is not a membership change.
    strategy.rebuild(makeBackends(['a', 'b', 'd'], 2));
    expect(strategy.hashSpace().lastChange?.at).toBe(2_000);
    const shares = strategy.hashSpace().shares;
    expect(shares.map((s) => s.id)).toEqual(['a', 'b', 'd']);
    expect(sum(shares.map((s) => s.share))).toBeCloseTo(1, 9);
  });
});
