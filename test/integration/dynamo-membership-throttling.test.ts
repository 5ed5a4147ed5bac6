import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RingStore } from '#core/aws/ring-store.js';
import type { Member } from '#core/ports/membership.js';
import { DynamoMembership } from '#proxy/membership/dynamo-membership.js';
import { awsEnv, createTestTables, type TestTables } from '../helpers/aws.js';

/**
 * The emulator never throttles, so SDK middleware on a real client throws the
 * SDK's own ProvisionedThroughputExceededException for every read (the
 * version item's GetItem and the Ring's Scan) while `throttled` is set,
 * before the request leaves. (Throttling only Scan stopped being an outage
 * once a poll became a GetItem and the sweeper scanned only when a lease
 * could lapse.) Everything else is production code
 * against the emulator: the RingStore, the document client, the membership
 * loop and its back-off.
 */
function throttlingRingStore(tableName: string) {
  const env = awsEnv();
  const state = { throttled: false, polls: 0, pollTimes: [] as number[] };
  const client = new DynamoDBClient({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    // One attempt per read, so the back-off is the poller's own.
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // Every poll starts with the version item's GetItem (a sweep's Scan goes out beside it).
      if (context.commandName === 'GetItemCommand') {
        state.polls++;
        state.pollTimes.push(Date.now());
      }
      if (state.throttled && (context.commandName === 'ScanCommand' || context.commandName === 'GetItemCommand')) {
        throw new ProvisionedThroughputExceededException({
          message: 'Rate of requests exceeds the allowed throughput',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'throttleReadsOnDemand' },
  );
  const ring = new RingStore(DynamoDBDocumentClient.from(client), tableName);
  return { ring, state };
}

describe('DynamoMembership under throttling (real RingStore on the emulator)', () => {
  let tables: TestTables;
  beforeAll(async () => {
    tables = await createTestTables('throttle');
  });
  afterAll(async () => {
    await tables.drop();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps the last membership, counts errors, backs off, and recovers', async () => {
    // Timers and the clock are faked so 70 s of outage pass at once; I/O stays real.
    vi.useFakeTimers({
      now: Date.now(),
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    const { ring, state } = throttlingRingStore(tables.names.ring);
    const LEASE_MS = 60_000;
    await ring.heartbeat('a', 'http://127.0.0.1:1', 1, LEASE_MS);
    await ring.heartbeat('b', 'http://127.0.0.1:2', 1, LEASE_MS);
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
    expect(stats.errors).toBeGreaterThan(0);
    // Back-off: gaps between failed polls grow (1 s, 2 s, 4 s, then the 5 s cap), so far fewer polls than seconds.
    const gaps = state.pollTimes.slice(1).map((t, i) => t - (state.pollTimes[i] as number));
    expect(gaps.slice(0, 4)).toEqual([1000, 2000, 4000, 5000]);
    expect(state.polls).toBeLessThan(25);

    state.throttled = false;
    // Meanwhile a and b renewed their leases in the table, and c joined.
    await ring.heartbeat('a', 'http://127.0.0.1:1', 1, LEASE_MS);
    await ring.heartbeat('b', 'http://127.0.0.1:2', 1, LEASE_MS);
    await ring.heartbeat('c', 'http://127.0.0.1:3', 1, LEASE_MS);
    await vi.waitFor(() => expect(seen.at(-1)?.map((m) => m.id)).toEqual(['a', 'b', 'c']), {
      timeout: 15_000,
      interval: 50,
    });
    expect(membership.stats().lastReadAgeMs).toBeLessThan(1500);
    await membership.stop();
  });
});
