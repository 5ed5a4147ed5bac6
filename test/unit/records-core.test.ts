import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Schema, validatePatch, validateRow } from '#core/records/schema.js';
import { ShardLayout } from '#core/records/shard-layout.js';
import { planInit } from '#proxy/extensions/records/init-request.js';

const SCHEMA: Schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'Number'] };
const message = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('row validation', () => {
  it('accepts a full row and names the column and reason of each problem', () => {
    expect(message(() => validateRow(SCHEMA, { Stud_id: 1, Stud_name: 'a', Stud_marks: 3 }, 'data[0]'))).toBe('ok');
    expect(message(() => validateRow(SCHEMA, { Stud_id: 1, Stud_name: 'a' }, 'data[0]'))).toBe(
      'data[0].Stud_marks: missing',
    );
    expect(message(() => validateRow(SCHEMA, { Stud_id: 1, Stud_name: true, Stud_marks: 3 }, 'data[1]'))).toBe(
      'data[1].Stud_name: expected a string, got true',
    );
    // A String column takes a number as its text, as the seed writes marks into its String column.
    expect(validateRow(SCHEMA, { Stud_id: 1, Stud_name: 2, Stud_marks: 3 }, 'd')).toEqual({
      Stud_id: 1,
      Stud_name: '2',
      Stud_marks: 3,
    });
    expect(validatePatch(SCHEMA, { Stud_name: 7.5 }, 'data', 1)).toEqual({ Stud_name: '7.5' });
    expect(message(() => validateRow(SCHEMA, { Stud_id: -4, Stud_name: 'a', Stud_marks: 3 }, 'd'))).toMatch(
      /^d\.Stud_id: expected a whole number/,
    );
    expect(message(() => validateRow(SCHEMA, [1], 'd'))).toMatch(/^d: expected an object/);
    expect(message(() => validatePatch(SCHEMA, { Stud_marks: 'x' }, 'data', 1))).toBe(
      'data.Stud_marks: expected a number, got "x"',
    );
  });
});

describe('shard layout', () => {
  it('finds the shard of any id and the shards of any range', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }),
        fc.nat(400),
        fc.nat(400),
        (sizes, a, b) => {
          let low = 0;
          const shards = sizes.map((size, i) => {
            const s = { Shard_id: `sh${i}`, Stud_id_low: low, Shard_size: size };
            low += size;
            return s;
          });
          const layout = new ShardLayout([...shards].reverse());
          const id = a % (low + 10);
          const found = layout.shardOf(id);
          const expected = shards.find((s) => id >= s.Stud_id_low && id < s.Stud_id_low + s.Shard_size);
          expect(found?.Shard_id).toBe(expected?.Shard_id);
          const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
          const parts = layout.overlapping(lo, hi);
          const covered = parts.reduce((n, p) => n + (p.high - p.low + 1), 0);
          expect(covered).toBe(Math.max(0, Math.min(hi, low - 1) - lo + 1));
        },
      ),
    );
  });

  it('detects overlapping shards', () => {
    expect(
      ShardLayout.overlap([
        { Shard_id: 'a', Stud_id_low: 0, Shard_size: 10 },
        { Shard_id: 'b', Stud_id_low: 5, Shard_size: 10 },
      ])?.map((s) => s.Shard_id),
    ).toEqual(['a', 'b']);
  });
});

describe('/init planning', () => {
  const shards = [0, 1, 2, 3].map((k) => ({ Stud_id_low: k * 100, Shard_id: `sh${k}`, Shard_size: 100 }));
  const live = ['a', 'b', 'c', 'd', 'e', 'f'];

  it('spreads replicas and primaries evenly when no placement is given', () => {
    const plan = planInit({ N: 6, schema: SCHEMA as never, shards }, live);
    const perServer = new Map<string, number>();
    for (const p of plan.placement) perServer.set(p.Server_id, (perServer.get(p.Server_id) ?? 0) + 1);
    expect([...perServer.values()]).toEqual([2, 2, 2, 2, 2, 2]);
    const primaries = plan.placement.filter((p) => p.primary).map((p) => p.Server_id);
    expect(new Set(primaries).size).toBe(4);
    expect(plan.config.replicas).toBe(3);
  });

  it('names the field and reason for impossible requests', () => {
    const base = { N: 6, schema: SCHEMA as never, shards };
    expect(message(() => planInit({ ...base, N: 7 }, live))).toBe('N: 7 servers asked for but 6 are live');
    expect(
      message(() => planInit({ ...base, shards: [...shards, { ...shards[0], Shard_id: 'x' } as never] }, live)),
    ).toMatch(/^shards: sh0 and x cover overlapping/);
    expect(message(() => planInit({ ...base, N: 1, servers: { zz: ['sh0'] } }, live))).toBe(
      'servers.zz: not a live server; the live servers are a, b, c, d, e, f',
    );
    expect(message(() => planInit({ ...base, N: 1, servers: { a: ['sh9'] } }, live))).toBe(
      'servers.a[0]: unknown Shard_id "sh9"',
    );
    expect(message(() => planInit({ ...base, N: 2, replicas: 3 }, live))).toMatch(
      /^replicas: 3 replicas need at least 3 servers/,
    );
  });
});
