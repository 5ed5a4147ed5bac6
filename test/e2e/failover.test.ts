import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '#devkit/load.js';
import { startTestProxy, startTestServer, type TestProxy, type TestServer, waitFor } from '../helpers/processes.js';

describe('a server killed under load', () => {
  let proxy: TestProxy;
  let servers: TestServer[];

  beforeAll(async () => {
    proxy = await startTestProxy({ SCALER: 'none' });
    servers = await Promise.all(['a', 'b', 'c'].map((id) => startTestServer(id, proxy)));
    await waitFor(async () => (await proxy.admin('GET', '/rep')).body.message.N === 3, 5000, 'three servers');
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    expect(await proxy.stop()).toBe(0);
  });

  it('loses no GET of 2,000 and takes the dead server out of rotation within 3 s', async () => {
    const victim = servers[1] as TestServer;
    let killedAt = 0;
    const load = runLoad(
      proxy.url,
      2000,
      16,
      (i) => `/home?request_id=${i}`,
      (done) => {
        if (done === 600 && killedAt === 0) {
          killedAt = performance.now();
          victim.kill();
        }
      },
    );
    const outOfRotation = (async () => {
      await waitFor(() => killedAt > 0, 20_000, 'the kill');
      await waitFor(
        async () => {
          const s = (await proxy.admin('GET', '/status')).body.message.servers.find(
            (x: { id: string }) => x.id === 'b',
          );
          return s === undefined || s.available === false;
        },
        10_000,
        'b out of rotation',
      );
      return performance.now() - killedAt;
    })();
    const result = await load;
    expect(result.failures).toEqual([]);
    expect(result.statuses.get(200)).toBe(2000);
    const elapsed = await outOfRotation;
    expect(elapsed).toBeLessThan(3000);
    const status = (await proxy.admin('GET', '/status')).body.message;
    expect(status.totals.retries).toBeGreaterThan(0);
    // Traffic after the kill went to the survivors only.
    const after = await runLoad(proxy.url, 300, 8, (i) => `/home?request_id=${i}`);
    expect(after.failures).toEqual([]);
    expect([...after.servers.keys()].sort()).toEqual(['a', 'c']);
  });
});
