import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BOUND_FACTOR } from '#core/balancing/hashing-strategy.js';
import { seededRandom } from '#core/util/seeded-random.js';
import { type LoadResult, runLoad } from '#devkit/load.js';
import { startTestProxy, type TestProxy } from '../helpers/processes.js';

const REQUESTS = 10_000;
const CONCURRENCY = 32;
/** The busy neighbour spins this long at most, whatever happens to the test run (it is killed in afterAll). */
const NEIGHBOUR_MAX_MS = 180_000;
/** How often the in-flight counts are read from /status while load runs. */
const SAMPLE_EVERY_MS = 10;
/**
 * Samples taken while at least half the clients' requests were in flight: fewer would make the check
 * vacuous. Kept low because a quick round on a quiet machine lasts about a second (19 such samples
 * were once seen in a round), and the test process sends the load and reads /status on one event loop.
 */
const MIN_LOADED_SAMPLES = 5;

/**
 * A CPU-bound process beside the proxy and its servers, as another tenant on a
 * shared machine would be: bounded load must keep its promise when a server is
 * momentarily slow (the request-count bound it replaced broke under one). It
 * runs only beside the bounded-load tests; plain Maglev's key counts do not
 * depend on timing.
 */
function besideABusyNeighbour(): void {
  let neighbour: ChildProcess | undefined;
  beforeAll(() => {
    neighbour = spawn(
      process.execPath,
      ['-e', `const end = Date.now() + ${NEIGHBOUR_MAX_MS}; while (Date.now() < end);`],
      {
        stdio: 'ignore',
      },
    );
  });
  afterAll(() => {
    neighbour?.kill('SIGKILL');
  });
}

interface InflightSample {
  readonly total: number;
  readonly servers: readonly { id: string; inflight: number; effectiveWeight: number; available: boolean }[];
}

/** Runs `load` while reading every server's requests in flight from /status. */
async function withInflightSamples(
  proxy: TestProxy,
  load: () => Promise<LoadResult>,
): Promise<{ result: LoadResult; samples: InflightSample[] }> {
  const samples: InflightSample[] = [];
  let running = true;
  const sampling = (async () => {
    while (running) {
      const status = (await proxy.admin('GET', '/status')).body.message;
      samples.push({ total: status.totals.inflight, servers: status.servers });
      await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
    }
  })();
  // A failed read surfaces through `await sampling` below, not as an unhandled rejection meanwhile.
  sampling.catch(() => {});
  try {
    return { result: await load(), samples };
  } finally {
    running = false;
    await sampling;
  }
}

/**
 * What bounded load promises (core/balancing/hashing-strategy.ts): a request
 * goes to a server only while that server holds fewer than
 * max(ceil(w × (m + 1) / W), floor(c × w × m / W)) requests, m being the requests
 * in flight before it and w / W its weight over the available weight. The
 * clients never have more than CONCURRENCY requests out, so m + 1 ≤ CONCURRENCY
 * at every placement, and no server may ever be seen above that cap: about
 * c × the mean in flight. Requests that finish only lower a count, so a slow
 * server (the busy neighbour's victim) keeps the bound too.
 */
function inflightOverBound(samples: readonly InflightSample[]): string[] {
  const over: string[] = [];
  for (const sample of samples) {
    const available = sample.servers.filter((s) => s.available);
    const weight = available.reduce((sum, s) => sum + s.effectiveWeight, 0);
    for (const s of available) {
      const share = s.effectiveWeight / weight;
      const cap = Math.max(
        Math.ceil(share * CONCURRENCY),
        Math.floor(DEFAULT_BOUND_FACTOR * share * (CONCURRENCY - 1)),
      );
      if (s.inflight > cap) over.push(`${s.id}: ${s.inflight} in flight > cap ${cap} (total ${sample.total})`);
    }
  }
  return over;
}

function expectBoundedLoad(samples: readonly InflightSample[]): void {
  expect(Math.max(...samples.map((s) => s.total)), 'the clients never have more in flight').toBeLessThanOrEqual(
    CONCURRENCY,
  );
  expect(samples.filter((s) => s.total >= CONCURRENCY / 2).length).toBeGreaterThanOrEqual(MIN_LOADED_SAMPLES);
  expect(inflightOverBound(samples)).toEqual([]);
}

/** The assignments' analysis: random request ids, count per server. */
function randomIds(seed: number) {
  const random = seededRandom(seed);
  return (_i: number) => `/home?request_id=${Math.floor(random() * 1_000_000)}`;
}

function maxDeviation(servers: Map<string, number>): number {
  const values = [...servers.values()];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.max(...values.map((v) => Math.abs(v - mean) / mean));
}

/**
 * The assignments' experiment measures how keys spread, so it runs on plain
 * Maglev. The default adds bounded load, which deliberately moves requests
 * off a server that is momentarily slow (a GC pause, a busy neighbour on a
 * shared core) and so trades a little key balance for load balance; it gets
 * its own, looser check below.
 */
describe('distribution over real servers (maglev)', () => {
  let proxy: TestProxy;

  beforeAll(async () => {
    proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '3', SLOW_START_MS: '0', STRATEGY: 'maglev' });
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
  });

  it('10,000 requests over N = 3: every server within 6% of the mean, no failures', async () => {
    const result = await runLoad(proxy.url, REQUESTS, CONCURRENCY, randomIds(1));
    expect(result.failures).toEqual([]);
    expect(result.statuses.get(200)).toBe(REQUESTS);
    expect([...result.servers.keys()].sort()).toEqual(['s1', 's2', 's3']);
    expect(maxDeviation(result.servers), JSON.stringify([...result.servers])).toBeLessThanOrEqual(0.06);
  });

  it('N = 2..6 (grown with /add): every server serves, max/mean stays within 10%', async () => {
    const rows: { n: number; maxOverMean: number }[] = [];
    await proxy.admin('DELETE', '/rm', { n: 1, hostnames: ['s3'] });
    for (let n = 2; n <= 6; n++) {
      if (n > 2) expect((await proxy.admin('POST', '/add', { n: 1 })).status).toBe(200);
      const rep = await proxy.admin('GET', '/rep');
      expect(rep.body.message.N).toBe(n);
      const result = await runLoad(proxy.url, REQUESTS, CONCURRENCY, randomIds(n));
      expect(result.failures).toEqual([]);
      expect(result.servers.size).toBe(n);
      const values = [...result.servers.values()];
      const maxOverMean = Math.max(...values) / (REQUESTS / n);
      rows.push({ n, maxOverMean });
      expect(maxOverMean).toBeLessThanOrEqual(1.1);
    }
    console.log(JSON.stringify({ distribution: rows }));
  });
});

describe('distribution with the default strategy (maglev-bounded), beside a busy neighbour', () => {
  besideABusyNeighbour();

  it('10,000 requests over N = 3: no failures, every server serving, none above c × the mean in flight', async () => {
    const proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '3', SLOW_START_MS: '0' });
    try {
      const { result, samples } = await withInflightSamples(proxy, () =>
        runLoad(proxy.url, REQUESTS, CONCURRENCY, randomIds(7)),
      );
      expect(result.failures).toEqual([]);
      expect([...result.servers.keys()].sort()).toEqual(['s1', 's2', 's3']);
      expectBoundedLoad(samples);
      console.log(JSON.stringify({ boundedKeyDeviation: maxDeviation(result.servers), samples: samples.length }));
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
  }, 90_000);
});

/**
 * The student balancers' own experiment, run the way they ran it: the proxy
 * with every default (strategy, bounded load, slow start as configured by
 * default), `/add` one server, wait 3 seconds (their protocol's settle time,
 * not a synchronisation), send 10,000 requests, count per server; for N = 2..6.
 * Under the default, bounded load trades key balance for load balance when a
 * server is slow, so what is asserted is its promise, not a request-count
 * bound (which a busy neighbour broke: 10.9% once against 10%).
 */
describe("the students' experiment, exactly as they ran it (all defaults), beside a busy neighbour", () => {
  besideABusyNeighbour();

  it('after each /add and a 3-second pause, 10,000 requests reach every server and none holds more than c × the mean in flight', async () => {
    const proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '2' });
    try {
      const rows: { n: number; maxDeviation: number }[] = [];
      for (let n = 2; n <= 6; n++) {
        if (n > 2) expect((await proxy.admin('POST', '/add', { n: 1 })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 3000));
        const { result, samples } = await withInflightSamples(proxy, () =>
          runLoad(proxy.url, REQUESTS, CONCURRENCY, randomIds(100 + n)),
        );
        expect(result.failures).toEqual([]);
        expect(result.servers.size).toBe(n);
        expectBoundedLoad(samples);
        rows.push({ n, maxDeviation: maxDeviation(result.servers) });
      }
      console.log(JSON.stringify({ studentsExperiment: rows }));
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
  }, 180_000);
});
