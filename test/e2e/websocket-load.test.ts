import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWsLoad, WsLoadError } from '#bench/lib/ws-load-process.js';
import { startTestServer, type TestServer } from '../helpers/processes.js';

/**
 * bench:websocket's load generator (bench/lib/ws-load.ts, run in its own
 * process by runWsLoad) against the real server bundle's /ws on loopback:
 * what the bench reports for every target rests on it.
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
    // The CPU snapshots bracket the measured window.
    expect(endedAt - startedAt).toBeGreaterThanOrEqual(1000);
  });

  it('fails with what came back when the upgrade is not answered 101', async () => {
    const run = runWsLoad({ url: `${wsBase}/not-ws`, connections: 2, bytes: 64, seconds: 1 });
    await expect(run).rejects.toBeInstanceOf(WsLoadError);
    await expect(run).rejects.toThrow(/answered 404 instead of 101: .*takes no upgrade/);
  });
});
