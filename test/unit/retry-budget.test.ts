import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { FleetLoad } from '#core/balancing/backend.js';
import { RetryBudget, type RetryWaiter } from '#proxy/forwarding/retry-budget.js';

function waiter() {
  const w = { granted: 0, denied: 0, grantRetry: () => w.granted++, denyRetry: () => w.denied++ };
  return w satisfies RetryWaiter;
}

describe('retry budget', () => {
  it('allows max(min, 20% of in-flight) concurrent retries', () => {
    const load = new FleetLoad();
    load.inflight = 50;
    const budget = new RetryBudget(load, 0.2, 3, 0);
    const decisions = Array.from({ length: 12 }, () => budget.acquire(waiter()));
    expect(decisions.filter((d) => d === 'granted')).toHaveLength(10);
    expect(decisions.slice(10)).toEqual(['denied', 'denied']);
    expect(budget.exhausted).toBe(2);
    load.inflight = 0;
    const quiet = new RetryBudget(load, 0.2, 3, 0);
    expect(Array.from({ length: 4 }, () => quiet.acquire(waiter()))).toEqual([
      'granted',
      'granted',
      'granted',
      'denied',
    ]);
  });

  it('queues retries over the budget and grants them as slots free', () => {
    const budget = new RetryBudget(new FleetLoad(), 0.2, 1, 10_000);
    expect(budget.acquire(waiter())).toBe('granted');
    const queued = waiter();
    expect(budget.acquire(queued)).toBe('queued');
    expect(queued.granted).toBe(0);
    budget.release();
    expect(queued.granted).toBe(1);
    expect(budget.active).toBe(1);
    budget.release();
    expect(budget.waiting).toBe(0);
  });

  it('denies a queued retry when no slot frees in time, and forgets cancelled ones', () => {
    // The wait is a timer: a fake clock shows it denies at the limit, not before.
    vi.useFakeTimers();
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const budget = new RetryBudget(new FleetLoad(), 0.2, 1, 30);
    budget.acquire(waiter());
    const late = waiter();
    const cancelled = waiter();
    budget.acquire(late);
    budget.acquire(cancelled);
    budget.cancel(cancelled);
    vi.advanceTimersByTime(29);
    expect(late.denied).toBe(0);
    vi.advanceTimersByTime(1);
    expect(late.denied).toBe(1);
    expect(cancelled.denied).toBe(0);
    expect(budget.waiting).toBe(0);
  });
});
