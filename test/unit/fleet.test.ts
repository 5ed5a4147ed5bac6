import pino from 'pino';
import type { Pool } from 'undici';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { FleetLoad, NO_DEMAND } from '#core/balancing/backend.js';
import { createStrategy } from '#core/balancing/strategies.js';
import type { Member } from '#core/ports/membership.js';
import { Fleet, type FleetOptions } from '#proxy/fleet/fleet.js';
import type { UpstreamBackend } from '#proxy/fleet/upstream-backend.js';
import { UndiciUpstream } from '#proxy/forwarding/upstream/upstream.js';

const OPTIONS: FleetOptions = {
  slowStartMs: 30_000,
  slowStartInitialWeight: 0.1,
  panicThreshold: 0.5,
  ejectConsecutiveFailures: 5,
  ejectBaseMs: 30_000,
  ejectMaxMs: 300_000,
  drainTimeoutMs: 1000,
};

/** Pools are never dialled in these tests; only close() is called. */
const idlePool = () => ({ close: async () => {} }) as unknown as Pool;
const idleConnections = () => ({ pool: idlePool(), upstream: new UndiciUpstream(idlePool()) });
const member = (id: string, status: Member['status'] = 'active'): Member => ({
  id,
  address: `http://127.0.0.1:1/${id}`,
  weight: 1,
  status,
});

function fleetWithClock(options: Partial<FleetOptions> = {}) {
  const clock = { now: 1_000_000 };
  const fleet = new Fleet(
    createStrategy('maglev'),
    new FleetLoad(),
    { ...OPTIONS, ...options },
    idleConnections,
    pino({ level: 'silent' }),
    () => clock.now,
  );
  return { fleet, clock };
}

describe('fleet', () => {
  it('ramps a newcomer from 10% weight over the slow-start window; initial members start at full weight', () => {
    const { fleet, clock } = fleetWithClock();
    fleet.applyMembership([member('a')]);
    expect(fleet.get('a')?.effectiveWeight).toBe(1);
    fleet.applyMembership([member('a'), member('b')]);
    const b = fleet.get('b') as UpstreamBackend;
    expect(b.effectiveWeight).toBeCloseTo(0.1);
    clock.now += 15_000;
    fleet.applyMembership([member('a'), member('b')]);
    expect(b.effectiveWeight).toBeGreaterThanOrEqual(0.5);
    expect(b.effectiveWeight).toBeLessThan(0.6);
    clock.now += 16_000;
    fleet.applyMembership([member('a'), member('b')]);
    expect(b.effectiveWeight).toBe(1);
  });

  it('ejects after consecutive failures for 30 s × n, capped at 300 s', () => {
    const { fleet, clock } = fleetWithClock();
    fleet.applyMembership([member('a'), member('b'), member('c')]);
    const a = fleet.get('a') as UpstreamBackend;
    const durations: number[] = [];
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 5; i++) fleet.recordFailure(a);
      durations.push(a.ejectedUntil - clock.now);
      expect(a.available).toBe(false);
      clock.now = a.ejectedUntil + 1;
      a.consecutiveFailures = 0;
    }
    expect(durations.slice(0, 3)).toEqual([30_000, 60_000, 90_000]);
    expect(Math.max(...durations)).toBe(300_000);
  });

  it('a success resets the failure streak', () => {
    const { fleet } = fleetWithClock();
    fleet.applyMembership([member('a'), member('b')]);
    const a = fleet.get('a') as UpstreamBackend;
    for (let i = 0; i < 4; i++) fleet.recordFailure(a);
    fleet.recordSuccess(a);
    for (let i = 0; i < 4; i++) fleet.recordFailure(a);
    expect(a.available).toBe(true);
  });

  it('enters panic mode below half healthy and routes to every member', () => {
    const { fleet } = fleetWithClock();
    fleet.applyMembership([member('a'), member('b'), member('c'), member('d')]);
    const [a, b, c] = ['a', 'b', 'c'].map((id) => fleet.get(id) as UpstreamBackend) as [
      UpstreamBackend,
      UpstreamBackend,
      UpstreamBackend,
    ];
    fleet.reportHealth(a, false, 1, 1);
    fleet.reportHealth(b, false, 1, 1);
    expect(fleet.panic).toBe(false); // 2 of 4 healthy is not below half
    expect(a.available).toBe(false);
    fleet.reportHealth(c, false, 1, 1);
    expect(fleet.panic).toBe(true);
    expect(fleet.list().every((x) => x.available)).toBe(true);
    fleet.reportHealth(a, true, 1, 1);
    expect(fleet.panic).toBe(false);
    expect(c.available).toBe(false);
  });

  it('needs the configured number of failed checks before marking a server unhealthy', () => {
    const { fleet } = fleetWithClock();
    fleet.applyMembership([member('a'), member('b'), member('c')]);
    const a = fleet.get('a') as UpstreamBackend;
    fleet.reportHealth(a, false, 2, 1);
    expect(a.healthy).toBe(true);
    fleet.reportHealth(a, false, 2, 1);
    expect(a.healthy).toBe(false);
  });

  it('takes draining servers out of rotation and retires departed ones', () => {
    const { fleet } = fleetWithClock();
    fleet.applyMembership([member('a'), member('b')]);
    fleet.applyMembership([member('a'), member('b', 'draining')]);
    expect(fleet.get('b')?.available).toBe(false);
    for (let i = 0; i < 50; i++) expect(fleet.strategy.pick(i * 7919, { cpu: 0, storage: 0 }, undefined)?.id).toBe('a');
    fleet.applyMembership([member('a')]);
    expect(fleet.get('b')).toBeUndefined();
  });

  // The drain deadline is a timer: fake timers show "not before the last request ends" and "not
  // after drainTimeoutMs" exactly, where a real sleep could only sample a moment in between.
  it('waitDrained resolves when the last in-flight request ends, however long before the deadline', async () => {
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const { fleet } = fleetWithClock();
    fleet.applyMembership([member('a')]);
    const a = fleet.get('a') as UpstreamBackend;
    fleet.beginAttempt(a, NO_DEMAND);
    let drained = false;
    const waiting = fleet.waitDrained(a).then(() => {
      drained = true;
    });
    await vi.advanceTimersByTimeAsync(OPTIONS.drainTimeoutMs - 1);
    expect(drained).toBe(false);
    fleet.endAttempt(a, NO_DEMAND, 200, 1);
    await waiting;
    expect(drained).toBe(true);
  });

  it('waitDrained gives up at drainTimeoutMs when a request never ends', async () => {
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const { fleet } = fleetWithClock();
    fleet.applyMembership([member('a')]);
    const a = fleet.get('a') as UpstreamBackend;
    fleet.beginAttempt(a, NO_DEMAND);
    let drained = false;
    void fleet.waitDrained(a).then(() => {
      drained = true;
    });
    await vi.advanceTimersByTimeAsync(OPTIONS.drainTimeoutMs - 1);
    expect(drained).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(drained).toBe(true);
    expect(a.inflight).toBe(1);
  });
});
