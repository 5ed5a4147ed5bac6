import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RingItem, RingStore } from '#core/aws/ring-store.js';
import type { Member } from '#core/ports/membership.js';
import { DynamoMembership } from '#proxy/membership/dynamo-membership.js';

/**
 * DynamoDB throttling cannot be produced by the emulator, so the scan here
 * throws the SDK's own ProvisionedThroughputExceededException on demand.
 * Everything else about the membership loop is the production code.
 */
function throttlingRing(items: RingItem[]) {
  const state = { throttled: false, scans: 0, scanTimes: [] as number[] };
  const ring = {
    scan: async () => {
      state.scans++;
      state.scanTimes.push(Date.now());
      if (state.throttled) {
        throw new ProvisionedThroughputExceededException({
          message: 'Rate of requests exceeds the allowed throughput',
          $metadata: {},
        });
      }
      return items;
    },
  } as unknown as RingStore;
  return { ring, state };
}

const live = (id: string, now: number): RingItem => ({
  id,
  address: `http://127.0.0.1:1/${id}`,
  weight: 1,
  status: 'active',
  leaseExpiresAtMs: now + 60_000,
});

describe('DynamoMembership under throttling', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps the last membership, counts errors, backs off, and recovers', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const items = [live('a', Date.now()), live('b', Date.now())];
    const { ring, state } = throttlingRing(items);
    const seen: (readonly Member[])[] = [];
    const membership = new DynamoMembership(ring, 1000, pino({ level: 'silent' }));
    await membership.start((m) => seen.push(m));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.map((m) => m.id)).toEqual(['a', 'b']);

    state.throttled = true;
    // Leases would expire during a long outage; a failed read must not expire anyone.
    await vi.advanceTimersByTimeAsync(70_000);
    expect(seen).toHaveLength(1);
    const stats = membership.stats();
    expect(stats.errors).toBeGreaterThan(3);
    // Back-off: gaps between failed scans grow (1 s, 2 s, 4 s, then the 5 s cap), so far fewer scans than seconds.
    const gaps = state.scanTimes.slice(1).map((t, i) => t - (state.scanTimes[i] as number));
    expect(gaps.slice(0, 4)).toEqual([1000, 2000, 4000, 5000]);
    expect(state.scans).toBeLessThan(25);

    state.throttled = false;
    items.push(live('c', Date.now()));
    // Leases of a and b were renewed meanwhile in the real table; here they are simply still valid.
    items[0] = live('a', Date.now());
    items[1] = live('b', Date.now());
    await vi.advanceTimersByTimeAsync(5000);
    expect(seen.at(-1)?.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(membership.stats().lastSuccessAgeMs).toBeLessThan(1500);
    await membership.stop();
  });
});
