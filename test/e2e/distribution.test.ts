import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '#bench/lib/load.js';
import { seededRandom } from '#bench/lib/random.js';
import { startTestProxy, type TestProxy } from '../helpers/processes.js';

const REQUESTS = 10_000;
const CONCURRENCY = 32;

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

describe('distribution with the default strategy (maglev-bounded)', () => {
  it('10,000 requests over N = 3: no failures, every server within 10% of the mean', async () => {
    const proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '3', SLOW_START_MS: '0' });
    try {
      const result = await runLoad(proxy.url, REQUESTS, CONCURRENCY, randomIds(7));
      expect(result.failures).toEqual([]);
      expect(maxDeviation(result.servers), JSON.stringify([...result.servers])).toBeLessThanOrEqual(0.1);
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
  });
});

/**
 * The student balancers' own experiment, run the way they ran it: the proxy
 * with every default (strategy, bounded load, slow start as configured by
 * default), `/add` one server, wait 3 seconds, send 10,000 requests, count
 * per server; for N = 2..6.
 */
describe("the students' experiment, exactly as they ran it (all defaults)", () => {
  it('after each /add and a 3-second pause, 10,000 requests keep every server within 10% of the mean', async () => {
    const proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '2' });
    try {
      const rows: { n: number; maxDeviation: number }[] = [];
      for (let n = 2; n <= 6; n++) {
        if (n > 2) expect((await proxy.admin('POST', '/add', { n: 1 })).status).toBe(200);
        await new Promise((r) => setTimeout(r, 3000));
        const result = await runLoad(proxy.url, REQUESTS, CONCURRENCY, randomIds(100 + n));
        expect(result.failures).toEqual([]);
        expect(result.servers.size).toBe(n);
        rows.push({ n, maxDeviation: maxDeviation(result.servers) });
        expect(maxDeviation(result.servers), JSON.stringify([...result.servers])).toBeLessThanOrEqual(0.1);
      }
      console.log(JSON.stringify({ studentsExperiment: rows }));
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
  }, 120_000);
});
