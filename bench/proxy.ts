/**
 * `npm run bench:proxy -- --json`: in one run on loopback, three backend
 * servers and, in front of them, nothing (direct), Ringmaster (one event
 * loop), nginx (one worker) and HAProxy (one thread), all hashing a per-request
 * key with keep-alive upstream. One load generator (wrk, else autocannon) at
 * fixed connections; rounds interleave the targets so machine drift hits all
 * alike. Then a fixed 1k rps run for the p99 Ringmaster adds over direct.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, waitForPort } from '#scripts/lib/net.js';
import { type Started, spawnQuiet, stopProcess } from '#scripts/lib/spawn.js';
import { fixedRate } from './lib/fixed-rate.js';
import { startProxy, startServer } from './lib/processes.js';

const json = process.argv.includes('--json');
const argValue = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const CONNECTIONS = argValue('--connections', 64);
const DURATION_S = argValue('--duration', 5);
const ROUNDS = argValue('--rounds', 3);
const WARMUP_S = 2;
const FIXED_RATE = 1000;
const FIXED_RATE_S = 8;
const BACKENDS = 3;

const work = mkdtempSync(join(tmpdir(), 'ringmaster-bench-'));

interface Figures {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function startBackends(): Promise<{ procs: Started[]; addresses: string[] }> {
  const servers = await Promise.all(Array.from({ length: BACKENDS }, (_, i) => startServer(`s${i + 1}`)));
  return { procs: servers.map((s) => s.proc), addresses: servers.map((s) => s.address) };
}

async function startRingmaster(addresses: string[]): Promise<{ proc: Started; url: string }> {
  return startProxy({ MEMBERSHIP: 'static', STATIC_SERVERS: addresses.map((a, i) => `s${i + 1}=${a}`).join(',') });
}

async function startNginx(addresses: string[]): Promise<{ proc: Started; url: string }> {
  const port = await freePort();
  const dir = join(work, 'nginx');
  execFileSync('mkdir', ['-p', join(dir, 'tmp'), join(dir, 'logs')]);
  const servers = addresses.map((a) => `server ${a.replace('http://', '')};`).join('\n    ');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
error_log ${dir}/logs/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  upstream backends {
    hash $request_uri consistent;
    ${servers}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  // nginx prints nothing when it starts well; the open port tells.
  const proc = spawnQuiet('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  await waitForPort(port);
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function startHaproxy(addresses: string[]): Promise<{ proc: Started; url: string }> {
  const port = await freePort();
  const dir = join(work, 'haproxy');
  execFileSync('mkdir', ['-p', dir]);
  const servers = addresses.map((a, i) => `  server s${i + 1} ${a.replace('http://', '')}`).join('\n');
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  # "whole": hash the query string too, where the per-request key lives.
  balance uri whole
  hash-type consistent
  http-reuse always
${servers}
`,
  );
  const proc = spawnQuiet('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db']);
  await waitForPort(port);
  return { proc, url: `http://127.0.0.1:${port}` };
}

const WRK_SCRIPT = `math.randomseed(42)
request = function()
  return wrk.format("GET", "/home?request_id=" .. math.random(1, 1000000))
end
`;

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

function runWrk(url: string, seconds: number): Figures {
  const script = join(work, 'random-id.lua');
  writeFileSync(script, WRK_SCRIPT);
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-s', script, url], {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p = (q: string) => {
    const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1] as string, m[2] as string) : Number.NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps: Math.round(rps), p50Ms: p('50'), p99Ms: p('99'), errors };
}

let requestSeed = 1;
async function runAutocannon(url: string, seconds: number): Promise<Figures> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          path: `/home?request_id=${requestSeed++ % 1_000_000}`,
        }),
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const useWrk = has('wrk');
  const notes: string[] = [];
  if (!useWrk)
    notes.push('wrk not installed: autocannon (in-process Node) generated the load, which competes for the same cores');
  const backends = await startBackends();
  const targets: Record<string, { url: string; proc?: Started }> = { direct: { url: backends.addresses[0] as string } };
  const ringmaster = await startRingmaster(backends.addresses);
  targets.ringmaster = { url: ringmaster.url, proc: ringmaster.proc };
  if (has('nginx')) {
    const n = await startNginx(backends.addresses);
    targets.nginx = { url: n.url, proc: n.proc };
  } else notes.push('nginx not installed (apt-get install nginx-light)');
  if (has('haproxy')) {
    const h = await startHaproxy(backends.addresses);
    targets.haproxy = { url: h.url, proc: h.proc };
  } else notes.push('haproxy not installed (apt-get install haproxy)');

  const measure = async (url: string, seconds: number) =>
    useWrk ? runWrk(url, seconds) : await runAutocannon(url, seconds);
  const samples: Record<string, Figures[]> = {};
  try {
    for (const [name, t] of Object.entries(targets)) {
      await measure(t.url, WARMUP_S);
      samples[name] = [];
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, t] of Object.entries(targets)) samples[name]?.push(await measure(t.url, DURATION_S));
    }
    const summary = (name: string): Figures | null => {
      const s = samples[name];
      if (!s || s.length === 0) return null;
      return {
        rps: median(s.map((x) => x.rps)),
        p50Ms: round2(median(s.map((x) => x.p50Ms))),
        p99Ms: round2(median(s.map((x) => x.p99Ms))),
        errors: s.reduce((a, x) => a + x.errors, 0),
      };
    };
    const direct = summary('direct');
    const rm = summary('ringmaster');
    const nginx = summary('nginx');
    const haproxy = summary('haproxy');
    // Fixed-rate run: what Ringmaster adds to latency when nothing is saturated.
    const randomId = (i: number) => `/home?request_id=${(i * 7919) % 1_000_000}`;
    const fixedDirect = await fixedRate(targets.direct?.url as string, FIXED_RATE, FIXED_RATE_S, randomId);
    const fixedRm = await fixedRate(targets.ringmaster?.url as string, FIXED_RATE, FIXED_RATE_S, randomId);
    const report = {
      direct,
      ringmaster: rm,
      nginx,
      haproxy,
      ratioVsNginx: rm && nginx ? round2(rm.rps / nginx.rps) : null,
      ratioVsHaproxy: rm && haproxy ? round2(rm.rps / haproxy.rps) : null,
      ratioVsDirect: rm && direct ? round2(rm.rps / direct.rps) : null,
      p99RatioVsNginx: rm && nginx ? round2(rm.p99Ms / nginx.p99Ms) : null,
      p99RatioVsHaproxy: rm && haproxy ? round2(rm.p99Ms / haproxy.p99Ms) : null,
      at1kRps: {
        direct: fixedDirect,
        ringmaster: fixedRm,
        addedP50Ms: round2(fixedRm.p50Ms - fixedDirect.p50Ms),
        addedP99Ms: round2(fixedRm.p99Ms - fixedDirect.p99Ms),
      },
      config: {
        loadGenerator: useWrk ? 'wrk -t1' : 'autocannon',
        connections: CONNECTIONS,
        durationS: DURATION_S,
        rounds: ROUNDS,
        backends: BACKENDS,
        key: '/home?request_id=<random 1..1e6>',
        ringmaster: 'one process (one event loop), default strategy',
        nginx: 'worker_processes 1, hash $request_uri consistent, keepalive 64',
        haproxy: 'nbthread 1, balance uri whole, hash-type consistent, http-reuse always',
        cores: cpus().length,
      },
      notes,
    };
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    for (const t of Object.values(targets)) if (t.proc) await stopProcess(t.proc.child);
    for (const p of backends.procs) await stopProcess(p.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:proxy failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
