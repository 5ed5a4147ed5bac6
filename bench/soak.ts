/**
 * `npm run bench:soak -- --minutes N [--data-plane net|http] [--connections C]`:
 * holds load through one Ringmaster on loopback for N minutes (default 30)
 * while servers are added and removed through the admin API (its local
 * scaler starts and stops real processes), then prints one JSON object:
 * the proxy's memory (RSS and heap) at start (after warm-up), middle and
 * end, requests, errors by kind, and connection resets on reused sockets.
 * Target: memory flat within ±10% after warm-up, zero errors, zero resets.
 * Not part of the test suite.
 */
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { stopProcess } from '#devkit/spawn.js';
import { ROOT, startProxy } from './lib/processes.js';

const argValue = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const MINUTES = Number(argValue('--minutes', '30'));
const DATA_PLANE = argValue('--data-plane', 'net');
const CONNECTIONS = Number(argValue('--connections', '32'));
const DURATION_MS = MINUTES * 60_000;
/** Memory before this is start-up and JIT warm-up, not a trend. */
const WARMUP_MS = Math.min(120_000, Math.max(20_000, DURATION_MS * 0.1));
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

if (!Number.isFinite(MINUTES) || MINUTES <= 0) {
  process.stderr.write(`--minutes: expected a positive number, got "${argValue('--minutes', '')}"\n`);
  process.exit(2);
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
    const worker = async () => {
      while (performance.now() < deadline) {
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
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
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
      };
    };
    const first = after[0]?.atMs ?? WARMUP_MS;
    const last = after.at(-1)?.atMs ?? DURATION_MS;
    const start = windowAt(first);
    const middle = windowAt((first + last) / 2);
    const end = windowAt(last);
    const drift = (a: number, b: number) => Math.round(((b - a) / a) * 1000) / 10;
    const total = ok + [...errors.values()].reduce((a, b) => a + b, 0);
    const report = {
      minutes: MINUTES,
      dataPlane: DATA_PLANE,
      connections: CONNECTIONS,
      warmupS: Math.round(WARMUP_MS / 1000),
      requests: total,
      ok,
      errors: Object.fromEntries(errors),
      errorCount: total - ok,
      resetsOnReusedSockets: resets,
      memory: { start, middle, end },
      rssDriftPct: drift(start.rssMb, end.rssMb),
      heapDriftPct: drift(start.heapUsedMb, end.heapUsedMb),
      peakRssMb: mb(Math.max(...after.map((s) => s.rssBytes))),
      membershipChanges: churn,
      wallS: Math.round((performance.now() - started) / 1000),
      target: 'memory within ±10% after warm-up, zero errors, zero resets',
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
