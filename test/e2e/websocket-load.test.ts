import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TunnelLoad } from '#bench/lib/tunnel-churn.js';
import { runWsLoad, WsLoadError } from '#bench/lib/ws-load-process.js';
import { startTestServer, type TestServer } from '../helpers/processes.js';

/**
 * The benches' WebSocket clients against the real server bundle's /ws on
 * loopback: bench:websocket's load generator (bench/lib/ws-load.ts, run in
 * its own process by runWsLoad) and bench:soak's tunnels (TunnelLoad). What
 * the benches report rests on them.
 */

let server: TestServer;
let wsBase: string;

beforeAll(async () => {
  server = await startTestServer('ws-load-1', undefined);
  wsBase = server.address.replace('http://', 'ws://');
});

afterAll(async () => {
  await server?.stop();
});

describe('the WebSocket load generator', () => {
  it('runs a closed loop of echoed messages and reports counts and latencies, with no errors', async () => {
    let startedAt = 0;
    let endedAt = 0;
    const result = await runWsLoad({
      url: `${wsBase}/ws`,
      connections: 4,
      bytes: 1024,
      seconds: 1,
      onStart: () => {
        startedAt = performance.now();
      },
      onEnd: () => {
        endedAt = performance.now();
      },
    });
    expect(result.errors).toEqual({});
    expect(result.messages).toBeGreaterThan(100);
    expect(result.elapsedS).toBeGreaterThanOrEqual(1);
    // elapsedS is rounded to the millisecond, so the rate agrees within a fraction of a percent.
    expect(Math.abs(result.messagesPerS - result.messages / result.elapsedS)).toBeLessThan(result.messagesPerS / 200);
    expect(result.p50Ms).toBeGreaterThan(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(result.generatorCpuShare).toBeGreaterThan(0);
    // The CPU snapshots bracket the measured window.
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(1000);
  });

  it('fails with what came back when the upgrade is not answered 101', async () => {
    const run = runWsLoad({ url: `${wsBase}/not-ws`, connections: 2, bytes: 64, seconds: 1 });
    await expect(run).rejects.toBeInstanceOf(WsLoadError);
    await expect(run).rejects.toThrow(/answered 404 instead of 101: .*takes no upgrade/);
  });
});

describe("the soak's tunnels", () => {
  it('holds long-lived sockets and churns short ones, every echo checked, all closed at the end', async () => {
    const load = new TunnelLoad({
      url: wsBase,
      longLived: 3,
      messageEveryMs: 100,
      churnPerSecond: 20,
      churnConcurrency: 4,
    });
    await load.run(performance.now() + 1500);
    const report = load.report();
    expect(report.errors).toEqual({});
    expect(report.resets).toBe(0);
    expect(report.closedByPeer).toEqual({});
    // 3 long-lived plus about 30 short; every one closed by the client.
    expect(report.opened).toBeGreaterThan(10);
    expect(report.closedByUs).toBe(report.opened);
    expect(report.messages).toBeGreaterThanOrEqual(report.opened);
  });

  it('replaces each long-lived socket when its lifetime is up, closing the old one itself', async () => {
    const load = new TunnelLoad({
      url: wsBase,
      longLived: 2,
      messageEveryMs: 50,
      lifetimeMs: 400,
      churnPerSecond: 1,
      churnConcurrency: 1,
    });
    await load.run(performance.now() + 1500);
    const report = load.report();
    expect(report.errors).toEqual({});
    // Lifetimes of 200 and 400 ms over 1.5 s: at least 3 + 2 long-lived sockets, besides the short ones.
    expect(report.opened).toBeGreaterThanOrEqual(5 + 1);
    expect(report.closedByUs).toBe(report.opened);
  });

  it("counts a server's leaving as closes by the peer (1001), reopens, and counts failed opens as errors", async () => {
    const leaving = await startTestServer('ws-load-2', undefined, { SHUTDOWN_TIMEOUT_MS: '0' });
    const load = new TunnelLoad({
      url: leaving.address.replace('http://', 'ws://'),
      longLived: 2,
      messageEveryMs: 50,
      churnPerSecond: 1,
      churnConcurrency: 1,
    });
    const running = load.run(performance.now() + 2000);
    await new Promise((r) => setTimeout(r, 500));
    await leaving.stop();
    await running;
    const report = load.report();
    expect(report.closedByPeer['1001']).toBe(2);
    expect(Object.keys(report.errors).some((k) => k.startsWith('open: ') && k.includes('ECONNREFUSED'))).toBe(true);
  });
});
