import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backend, NO_DEMAND } from '#core/balancing/backend.js';
import { DrfStrategy } from '#core/balancing/drf.js';
import { LeastTimeStrategy } from '#core/balancing/least-time.js';
import { PowerOfTwoStrategy } from '#core/balancing/power-of-two.js';
import { FastRandom } from '#core/balancing/random.js';
import { built, counts, makeBackends } from '../helpers/backends.js';

const pickIds = (strategy: ReturnType<typeof built>, n: number) =>
  Array.from({ length: n }, () => strategy.pick(0, NO_DEMAND, undefined)?.id ?? '-');

describe('weighted round robin (smooth)', () => {
  it('interleaves weights 5,1,1 as nginx does: a a b a c a a', () => {
    const backends = [new Backend('a', 'x', 5), new Backend('b', 'x', 1), new Backend('c', 'x', 1)];
    expect(pickIds(built('weighted-round-robin', backends), 7).join(' ')).toBe('a a b a c a a');
  });

  it('gives each backend exactly its weight share over a full cycle', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 6 }), (weights) => {
        const backends = weights.map((w, i) => new Backend(`b${i}`, 'x', w));
        const total = weights.reduce((a, b) => a + b, 0);
        const counted = counts(pickIds(built('weighted-round-robin', backends), total * 3));
        weights.forEach((w, i) => {
          expect(counted.get(`b${i}`)).toBe(w * 3);
        });
      }),
    );
  });

  it('skips unavailable backends', () => {
    const backends = makeBackends(['a', 'b', 'c']);
    (backends[1] as Backend).available = false;
    expect(new Set(pickIds(built('weighted-round-robin', backends), 30))).toEqual(new Set(['a', 'c']));
  });
});

describe('least connections', () => {
  it('picks the fewest in-flight per unit of weight', () => {
    const backends = [new Backend('a', 'x', 1), new Backend('b', 'x', 4)];
    (backends[0] as Backend).inflight = 1;
    (backends[1] as Backend).inflight = 3; // 4/4 = 1 < 2/1
    expect(pickIds(built('least-connections', backends), 1)).toEqual(['b']);
  });

  it('rotates among ties instead of always taking the first', () => {
    const picks = pickIds(built('least-connections', makeBackends(['a', 'b', 'c'])), 30);
    expect(counts(picks).size).toBe(3);
  });
});

describe('power of two choices', () => {
  it('sends fewer requests to a loaded backend and never to an unavailable one', () => {
    const backends = makeBackends(['a', 'b', 'c', 'd']);
    (backends[0] as Backend).inflight = 50;
    (backends[3] as Backend).available = false;
    const strategy = new PowerOfTwoStrategy(new FastRandom(7));
    strategy.rebuild(backends);
    const counted = counts(Array.from({ length: 3000 }, () => strategy.pick(0, NO_DEMAND, undefined)?.id ?? '-'));
    expect(counted.get('d')).toBeUndefined();
    expect(counted.get('a') ?? 0).toBeLessThan((counted.get('b') ?? 0) / 2);
  });

  it('finds the last available backend', () => {
    const backends = makeBackends(['a', 'b', 'c', 'd', 'e', 'f']);
    backends.forEach((b, i) => {
      b.available = i === 4;
    });
    const strategy = new PowerOfTwoStrategy(new FastRandom(3));
    strategy.rebuild(backends);
    for (let i = 0; i < 20; i++) expect(strategy.pick(0, NO_DEMAND, undefined)?.id).toBe('e');
  });
});

describe('least time (peak EWMA)', () => {
  it('prefers the faster backend', () => {
    let now = 0;
    const strategy = new LeastTimeStrategy(10_000, new FastRandom(11), () => now);
    const [fast, slow] = makeBackends(['fast', 'slow']) as [Backend, Backend];
    strategy.rebuild([fast, slow]);
    for (let i = 0; i < 20; i++) {
      now += 10;
      strategy.observeLatency(fast, 2, now);
      strategy.observeLatency(slow, 40, now);
    }
    const counted = counts(Array.from({ length: 100 }, () => strategy.pick(0, NO_DEMAND, undefined)?.id ?? '-'));
    expect(counted.get('fast')).toBe(100);
  });

  it('takes a latency peak at once and forgets it with time', () => {
    const strategy = new LeastTimeStrategy(1000, new FastRandom(5), () => 0);
    const b = new Backend('b', 'x');
    strategy.observeLatency(b, 5, 0);
    strategy.observeLatency(b, 100, 10);
    expect(b.latencyEwmaMs).toBe(100);
    strategy.observeLatency(b, 5, 5010);
    expect(b.latencyEwmaMs).toBeLessThan(6);
  });

  it('does not starve an identical backend after one slow response', () => {
    let now = 0;
    const strategy = new LeastTimeStrategy(1000, new FastRandom(9), () => now);
    const [a, b] = makeBackends(['a', 'b']) as [Backend, Backend];
    strategy.rebuild([a, b]);
    strategy.observeLatency(a, 500, now); // one spike on a
    strategy.observeLatency(b, 5, now);
    let pickedA = false;
    // b keeps answering in 5 ms; a is never sampled again unless the decay brings it back.
    for (let step = 0; step < 2000 && !pickedA; step++) {
      now += 5;
      const picked = strategy.pick(0, NO_DEMAND, undefined);
      if (picked === a) pickedA = true;
      else strategy.observeLatency(b, 5, now);
    }
    expect(pickedA).toBe(true);
    expect(now).toBeLessThan(10_000);
  });
});

describe('drf (dominant resource share)', () => {
  it('places a storage-heavy request on the server with spare memory', () => {
    const cpuBusy = new Backend('cpu-busy', 'x');
    cpuBusy.cpu = 0.9;
    cpuBusy.memory = 0.1;
    const memBusy = new Backend('mem-busy', 'x');
    memBusy.cpu = 0.1;
    memBusy.memory = 0.9;
    const strategy = new DrfStrategy(new FastRandom(1));
    strategy.rebuild([cpuBusy, memBusy]);
    // A cpu demand of 0.05: cpu-busy's dominant share becomes 0.95, mem-busy's stays 0.9.
    expect(strategy.pick(0, { cpu: 0.05, storage: 0 }, undefined)?.id).toBe('mem-busy');
    cpuBusy.cpu = 0.3;
    expect(strategy.pick(0, { cpu: 0, storage: 0.3 }, undefined)?.id).toBe('cpu-busy');
  });

  it('counts declared demand already in flight', () => {
    const [a, b] = makeBackends(['a', 'b']) as [Backend, Backend];
    a.pendingCpu = 0.6;
    const strategy = new DrfStrategy(new FastRandom(2));
    strategy.rebuild([a, b]);
    expect(strategy.pick(0, { cpu: 0.1, storage: 0.1 }, undefined)?.id).toBe('b');
  });
});
