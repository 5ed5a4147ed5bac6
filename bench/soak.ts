/**
 * `npm run bench:soak -- [--warmup-minutes W] [--minutes N] [--data-plane net|http] [--connections C]
 * [--rps R] [--tunnels T] [--tunnel-churn R]`: holds load through one Ringmaster on loopback for W minutes of
 * warm-up and then N minutes of measurement (default 30; W defaults to 10% of N, 20 s to 2 min),
 * while servers are added and removed through the admin API (its local scaler starts and stops real
 * processes). Alongside the requests, WebSocket tunnels stay open and churn (bench/lib/tunnel-churn.ts):
 * T long-lived sockets exchanging an echo each second, and R short ones a second opened, echoed and
 * closed. Then it prints one JSON object: the proxy's memory (RSS and heap) from the warm-up mark
 * (start, middle, end), requests, errors by kind, connection resets on reused sockets, and the
 * tunnels opened, closed and failed. Target: memory within ±10% from the warm-up mark to the end,
 * zero errors, zero resets. Not part of the test suite.
 */
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { stopProcess } from '#devkit/spawn.js';
import { ROOT, startProxy } from './lib/processes.js';
import { TunnelLoad } from './lib/tunnel-churn.js';

const argValue = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
/** A positive number of `name` (fractions allowed for minutes), or exit 2 naming the option. */
const positive = (name: string, fallback: string, allowZero = false) => {
  const text = argValue(name, fallback);
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    process.stderr.write(`${name}: expected a ${allowZero ? 'non-negative' : 'positive'} number, got "${text}"\n`);
    process.exit(2);
  }
  return n;
};
/** Minutes measured after the warm-up mark. */
const MINUTES = positive('--minutes', '30');
const DATA_PLANE = argValue('--data-plane', 'net');
const CONNECTIONS = positive('--connections', '32');
/**
 * Requests per second across all connections, or 0 for as fast as they go (the default). A paced soak
 * leaves the machine's cores to whatever else runs beside it: a leak shows in a long run at a moderate
 * rate as well as at full speed.
 */
const RPS = positive('--rps', '0', true);
const MEASURE_MS = MINUTES * 60_000;
/**
 * Memory before this is start-up and JIT warm-up, not a trend. Unset: 10% of the measurement, 20 s to
 * 2 min (a 30-minute soak grew for its first quarter hour, docs/benchmarks.md: hence the option).
 */
const WARMUP_MS = process.argv.includes('--warmup-minutes')
  ? positive('--warmup-minutes', '0', true) * 60_000
  : Math.min(120_000, Math.max(20_000, MEASURE_MS * 0.1));
const DURATION_MS = WARMUP_MS + MEASURE_MS;
/** Long-lived WebSockets held open through the proxy, each echoing a message every TUNNEL_MESSAGE_EVERY_MS. */
const TUNNELS = positive('--tunnels', '32', true);
const TUNNEL_MESSAGE_EVERY_MS = 1000;
/** Short WebSockets opened, echoed once and closed, per second; at most TUNNEL_CHURN_CONCURRENCY at once. */
const TUNNEL_CHURN_PER_S = positive('--tunnel-churn', '5', true);
const TUNNEL_CHURN_CONCURRENCY = 16;
const SAMPLE_EVERY_MS = 5000;
/** A membership change this often: alternately add one server and remove one. */
const CHURN_EVERY_MS = Math.max(10_000, DURATION_MS / 12);
const INITIAL_SERVERS = 3;
const REQUEST_TIMEOUT_MS = 10_000;
const ADMIN_TIMEOUT_MS = 30_000;
/** Past this, the run stops whatever is still going: bounded in time, whatever happens. */
const HARD_LIMIT_MS = DURATION_MS + 120_000;
/** Errors that mean a kept-alive connection was closed under a request. */
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

interface Sample {
  readonly atMs: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const started = performance.now();
  const proxy = await startProxy({
    DATA_PLANE,
    SCALER: 'local',
    LOCAL_SERVER_ENTRY: join(ROOT, 'dist', 'server.js'),
    INITIAL_SERVERS: String(INITIAL_SERVERS),
  });
  const hardStop = setTimeout(() => {
    process.stderr.write('bench:soak: hard time limit passed; stopping\n');
    void stopProcess(proxy.proc.child).finally(() => process.exit(1));
  }, HARD_LIMIT_MS);
  hardStop.unref();

  const admin = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await request(`${proxy.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${proxy.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: ADMIN_TIMEOUT_MS,
      bodyTimeout: ADMIN_TIMEOUT_MS,
    });
    return { status: res.statusCode, body: (await res.body.json()) as { message: Record<string, unknown> } };
  };

  const registeredBy = performance.now() + ADMIN_TIMEOUT_MS;
  while ((await admin('GET', '/rep')).body.message.N !== INITIAL_SERVERS) {
    if (performance.now() > registeredBy) throw new Error(`${INITIAL_SERVERS} servers did not register in time`);
    await new Promise((r) => setTimeout(r, 200));
  }

  const samples: Sample[] = [];
  const errors = new Map<string, number>();
  const churn: string[] = [];
  let ok = 0;
  let resets = 0;
  let reqSeq = 0;
  try {
    const loadStart = performance.now();
    const deadline = loadStart + DURATION_MS;
    const pool = new Pool(proxy.url, {
      connections: CONNECTIONS,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    /** Each connection's spacing between requests when paced. */
    const spacingMs = RPS > 0 ? (CONNECTIONS * 1000) / RPS : 0;
    const worker = async () => {
      let nextAt = performance.now();
      while (performance.now() < deadline) {
        if (spacingMs > 0) {
          nextAt += spacingMs;
          const wait = nextAt - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        try {
          const res = await pool.request({ path: `/home?request_id=${(reqSeq++ * 7919) % 1_000_000}`, method: 'GET' });
          await res.body.dump();
          if (res.statusCode === 200) ok++;
          else errors.set(`status ${res.statusCode}`, (errors.get(`status ${res.statusCode}`) ?? 0) + 1);
        } catch (err) {
          const code = (err as { code?: string }).code ?? String(err);
          if (RESET_CODES.has(code)) resets++;
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
      }
    };
    const sampler = setInterval(async () => {
      try {
        const status = await admin('GET', '/status');
        const p = status.body.message.process as { rssBytes: number; heapUsedBytes: number };
        samples.push({ atMs: performance.now() - loadStart, rssBytes: p.rssBytes, heapUsedBytes: p.heapUsedBytes });
      } catch {
        // A missed sample is not a failure of the proxy under test.
      }
    }, SAMPLE_EVERY_MS);
    let adding = true;
    const churner = setInterval(async () => {
      const action = adding ? 'add' : 'rm';
      adding = !adding;
      try {
        const res = await admin(action === 'add' ? 'POST' : 'DELETE', `/${action}`, { n: 1 });
        churn.push(`${Math.round((performance.now() - loadStart) / 1000)}s ${action} → ${res.status}`);
      } catch (err) {
        churn.push(`${action} failed: ${String(err)}`);
      }
    }, CHURN_EVERY_MS);
    const tunnels = new TunnelLoad({
      url: proxy.url.replace('http://', 'ws://'),
      longLived: TUNNELS,
      messageEveryMs: TUNNEL_MESSAGE_EVERY_MS,
      churnPerSecond: TUNNEL_CHURN_PER_S,
      churnConcurrency: TUNNEL_CHURN_CONCURRENCY,
    });
    await Promise.all([
      ...Array.from({ length: CONNECTIONS }, worker),
      TUNNELS > 0 || TUNNEL_CHURN_PER_S > 0 ? tunnels.run(deadline) : undefined,
    ]);
    clearInterval(sampler);
    clearInterval(churner);
    await pool.close();

    const after = samples.filter((s) => s.atMs >= WARMUP_MS);
    const windowAt = (atMs: number) => {
      const near = after.filter((s) => Math.abs(s.atMs - atMs) <= 15_000);
      const use = near.length > 0 ? near : after;
      return {
        atS: Math.round(atMs / 1000),
        rssMb: mb(median(use.map((s) => s.rssBytes))),
        heapUsedMb: mb(median(use.map((s) => s.heapUsedBytes))),
        // The lowest heap in the window is the nearest to what survives a collection: a leak raises this floor,
        // while the median also moves with where the collector happens to be in its cycle.
        heapFloorMb: mb(Math.min(...use.map((s) => s.heapUsedBytes))),
      };
    };
    const first = after[0]?.atMs ?? WARMUP_MS;
    const last = after.at(-1)?.atMs ?? DURATION_MS;
    const start = windowAt(first);
    const middle = windowAt((first + last) / 2);
    const end = windowAt(last);
    const drift = (a: number, b: number) => Math.round(((b - a) / a) * 1000) / 10;
    const total = ok + [...errors.values()].reduce((a, b) => a + b, 0);
    const rssDriftPct = drift(start.rssMb, end.rssMb);
    const heapDriftPct = drift(start.heapUsedMb, end.heapUsedMb);
    const heapFloorDriftPct = drift(start.heapFloorMb, end.heapFloorMb);
    const tunnelReport = tunnels.report();
    const report = {
      minutes: MINUTES,
      warmupMinutes: Math.round((WARMUP_MS / 60_000) * 100) / 100,
      dataPlane: DATA_PLANE,
      connections: CONNECTIONS,
      rps: RPS === 0 ? 'unpaced' : RPS,
      warmupS: Math.round(WARMUP_MS / 1000),
      requests: total,
      ok,
      errors: Object.fromEntries(errors),
      errorCount: total - ok,
      resetsOnReusedSockets: resets,
      memory: { start, middle, end },
      rssDriftPct,
      heapDriftPct,
      heapFloorDriftPct,
      memoryWithinTarget: Math.abs(rssDriftPct) <= 10 && Math.abs(heapDriftPct) <= 10,
      peakRssMb: mb(Math.max(...after.map((s) => s.rssBytes))),
      tunnels: {
        longLived: TUNNELS,
        messageEveryMs: TUNNEL_MESSAGE_EVERY_MS,
        churnPerS: TUNNEL_CHURN_PER_S,
        ...tunnelReport,
        errorCount: Object.values(tunnelReport.errors).reduce((a, b) => a + b, 0),
      },
      membershipChanges: churn,
      wallS: Math.round((performance.now() - started) / 1000),
      target:
        'RSS and heap within ±10% from the warm-up mark to the end, zero errors, zero resets (requests and tunnels)',
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    clearTimeout(hardStop);
    await stopProcess(proxy.proc.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
