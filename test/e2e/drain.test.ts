import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '#devkit/load.js';
import { startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';

const WORK_MS = 400;

describe('drain with /rm', () => {
  let proxy: TestProxy;

  beforeAll(async () => {
    proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '3', SERVER_WORK_LATENCY_MS: String(WORK_MS) });
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
  });

  it('loses no request in flight on a removed server; new ones avoid it', async () => {
    const load = runLoad(proxy.url, 240, 60, (i) => `/home?request_id=${i}`);
    // Wait until s2 has requests in flight, then remove it.
    await waitFor(
      async () => {
        const s = (await proxy.admin('GET', '/status')).body.message.servers.find((x: { id: string }) => x.id === 's2');
        return (s?.inflight ?? 0) > 0;
      },
      5000,
      's2 busy',
    );
    const removal = await proxy.admin('DELETE', '/rm', { n: 1, hostnames: ['s2'] });
    expect(removal.status).toBe(200);
    expect(removal.body.message).toEqual({ N: 2, replicas: ['s1', 's3'] });
    const result = await load;
    expect(result.failures).toEqual([]);
    expect(result.statuses.get(200)).toBe(240);
    expect(result.servers.get('s2') ?? 0).toBeGreaterThan(0);
    const after = await runLoad(proxy.url, 60, 30, (i) => `/home?request_id=${i}`);
    expect(after.failures).toEqual([]);
    expect(after.servers.has('s2')).toBe(false);
  });
});

describe('graceful shutdown on SIGTERM', () => {
  it('finishes in-flight requests, then exits 0', async () => {
    const proxy = await startTestProxy({
      SCALER: 'local',
      INITIAL_SERVERS: '2',
      SERVER_WORK_LATENCY_MS: String(WORK_MS),
    });
    const load = runLoad(proxy.url, 20, 20, (i) => `/home?request_id=${i}`);
    await waitFor(
      async () => (await proxy.admin('GET', '/status')).body.message.totals.inflight >= 10,
      5000,
      'requests in flight',
    );
    const code = await proxy.stop();
    const result = await load;
    expect(code).toBe(0);
    expect(result.failures).toEqual([]);
    expect(result.statuses.get(200)).toBe(20);
  });
});
