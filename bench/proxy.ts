/**
 * `npm run bench:proxy -- --json`: in one run on loopback, three backend
 * servers and, in front of them, nothing (direct), Ringmaster (one event
 * loop), nginx (one worker), HAProxy (one thread) and the Node proxies a
 * TypeScript user would otherwise pick (node-http-proxy and
 * @fastify/http-proxy, one process each), all with keep-alive upstream. One
 * load generator (wrk, else autocannon) at fixed connections; rounds
 * interleave the targets so machine drift hits all alike, and every round's
 * ratios are reported, not only the medians. Each proxy's CPU per request
 * comes from /proc. Then a fixed 1k rps run for the p99 Ringmaster adds over
 * direct.
 *
 * Ringmaster runs on each data plane `--planes` names (default `net,http`): `ringmaster` is the
 * `net` plane, `ringmasterHttp` the node:http one. Every round gives each plane's CPU per request,
 * requests/s and p99 as ratios to nginx's in that round (`rounds[].cpuRatioVsNginx`, …), and
 * `vsNginxByPlane` their medians over the rounds: the figures issue 19's targets are read from.
 * `--only a,b` measures only the named targets (nginx is always kept: every ratio needs it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePort, waitForPort } from '#devkit/net.js';
import { type Started, spawnQuiet, stopProcess } from '#devkit/spawn.js';
import { fixedRate } from './lib/fixed-rate.js';
import { startNginx as startNginxPeer } from './lib/nginx.js';
import { type CpuTime, treeCpuTime } from './lib/proc-cpu.js';
import { ROOT, startProxy, startServer } from './lib/processes.js';

const json = process.argv.includes('--json');
const argValue = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const CONNECTIONS = argValue('--connections', 64);
const DURATION_S = argValue('--duration', 5);
const ROUNDS = argValue('--rounds', 5);
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
  /** Requests completed in the run (for CPU per request). */
  requests: number;
  /** User + system CPU of the proxy's processes per request, µs; null for direct or without /proc. */
  cpuUsPerRequest: number | null;
}

/** Upstream keep-alive pool for nginx: 64 kept reopening connections (TOOLCHAIN.md, 2026-11-23). */
const NGINX_KEEPALIVE = 256;

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

const argText = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
/** The proxy's DATA_PLANE values, and the target each is measured as. */
const PLANE_TARGETS = { net: 'ringmaster', http: 'ringmasterHttp' } as const;
type Plane = keyof typeof PLANE_TARGETS;
function parsePlanes(text: string): Plane[] {
  const planes = text.split(',').map((p) => p.trim());
  for (const p of planes) {
    if (!(p in PLANE_TARGETS)) throw new Error(`--planes: "${p}" is not a data plane (net, http)`);
  }
  return [...new Set(planes)] as Plane[];
}
/** `--planes net,http`: the data planes Ringmaster is measured on, each against nginx in the same rounds. */
const PLANES = parsePlanes(argText('--planes', 'net,http'));
/** `--only a,b`: measure only these targets (and nginx); all when absent. */
const TARGET_NAMES = [
  'direct',
  'ringmaster',
  'ringmasterHttp',
  'ringmasterUndici',
  'nginx',
  'haproxy',
  'httpProxy',
  'fastifyProxy',
];
function parseOnly(text: string): Set<string> {
  const names = text.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!TARGET_NAMES.includes(n)) throw new Error(`--only: "${n}" is not a target (${TARGET_NAMES.join(', ')})`);
  }
  return new Set(names);
}
const ONLY = process.argv.includes('--only') ? parseOnly(argText('--only', '')) : undefined;
const wanted = (name: string) => ONLY === undefined || ONLY.has(name) || name === 'nginx';
/**
 * `--upstream-client llhttp|undici` picks the upstream client of `ringmaster` (default llhttp).
 * The same data plane on undici always runs too, as `ringmasterUndici`: the client it replaced.
 */
const RINGMASTER_UPSTREAM_CLIENT = argText('--upstream-client', 'llhttp');

async function startRingmaster(
  addresses: string[],
  dataPlane: string,
  upstreamClient = RINGMASTER_UPSTREAM_CLIENT,
): Promise<{ proc: Started; url: string }> {
  return startProxy({
    MEMBERSHIP: 'static',
    STATIC_SERVERS: addresses.map((a, i) => `s${i + 1}=${a}`).join(','),
    DATA_PLANE: dataPlane,
    UPSTREAM_CLIENT: upstreamClient,
  });
}

async function startNginx(addresses: string[]): Promise<{ proc: Started; url: string }> {
  const { proc, port } = await startNginxPeer(work, addresses, { keepalive: NGINX_KEEPALIVE, websocket: false });
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

/** A Node peer proxy bundle (bench/peers/*) on a free port, sent to the backends. */
async function startNodePeer(bundle: string, addresses: string[]): Promise<{ proc: Started; url: string }> {
  const port = await freePort();
  const proc = spawnQuiet(process.execPath, [join(ROOT, 'dist/bench/peers', bundle)], {
    UPSTREAMS: addresses.join(','),
    PORT: String(port),
  });
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
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { rps: Math.round(rps), p50Ms: p('50'), p99Ms: p('99'), errors, requests, cpuUsPerRequest: null };
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
    requests: result.requests.total,
    cpuUsPerRequest: null,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round2 = (x: number) => Math.round(x * 100) / 100;
const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? round2(a / b) : null;

/** The Node proxies Ringmaster is compared with; the best of them by median rps is `bestNode`. */
const NODE_PEERS = ['httpProxy', 'fastifyProxy'] as const;

interface Target {
  url: string;
  proc?: Started;
}

/** One measured run with the CPU the target's processes spent in it. */
async function measureWithCpu(
  t: Target,
  seconds: number,
  measure: (url: string, seconds: number) => Promise<Figures>,
): Promise<Figures> {
  const pid = t.proc?.child.pid;
  const before: CpuTime | undefined = pid === undefined ? undefined : treeCpuTime(pid);
  const figures = await measure(t.url, seconds);
  const after = pid === undefined ? undefined : treeCpuTime(pid);
  if (before && after && figures.requests > 0) {
    const us = after.userUs - before.userUs + (after.sysUs - before.sysUs);
    figures.cpuUsPerRequest = round2(us / figures.requests);
  }
  return figures;
}

async function main(): Promise<void> {
  const useWrk = has('wrk');
  const notes: string[] = [];
  if (!useWrk)
    notes.push('wrk not installed: autocannon (in-process Node) generated the load, which competes for the same cores');
  const backends = await startBackends();
  const targets: Record<string, Target> = {};
  if (wanted('direct')) targets.direct = { url: backends.addresses[0] as string };
  for (const plane of PLANES) {
    const name = PLANE_TARGETS[plane];
    if (wanted(name)) targets[name] = await startRingmaster(backends.addresses, plane);
  }
  if (PLANES.includes('net') && wanted('ringmasterUndici')) {
    targets.ringmasterUndici = await startRingmaster(backends.addresses, 'net', 'undici');
  }
  if (has('nginx')) targets.nginx = await startNginx(backends.addresses);
  else notes.push('nginx not installed (apt-get install nginx-light)');
  if (!has('haproxy')) notes.push('haproxy not installed (apt-get install haproxy)');
  else if (wanted('haproxy')) targets.haproxy = await startHaproxy(backends.addresses);
  if (wanted('httpProxy')) targets.httpProxy = await startNodePeer('node-http-proxy.js', backends.addresses);
  if (wanted('fastifyProxy')) targets.fastifyProxy = await startNodePeer('fastify-http-proxy.js', backends.addresses);

  const measure = async (url: string, seconds: number) =>
    useWrk ? runWrk(url, seconds) : await runAutocannon(url, seconds);
  const samples: Record<string, Figures[]> = {};
  const names = Object.keys(targets);
  try {
    for (const name of names) {
      await measure((targets[name] as Target).url, WARMUP_S);
      samples[name] = [];
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round, so no target always runs right after the same neighbour.
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length] as string;
        samples[name]?.push(await measureWithCpu(targets[name] as Target, DURATION_S, measure));
      }
    }
    const summary = (name: string) => {
      const s = samples[name];
      if (!s || s.length === 0) return null;
      const cpu = s.map((x) => x.cpuUsPerRequest).filter((x): x is number => x !== null);
      return {
        rps: median(s.map((x) => x.rps)),
        p50Ms: round2(median(s.map((x) => x.p50Ms))),
        p99Ms: round2(median(s.map((x) => x.p99Ms))),
        cpuUsPerRequest: cpu.length > 0 ? median(cpu) : null,
        errors: s.reduce((a, x) => a + x.errors, 0),
      };
    };
    const figures = Object.fromEntries(names.map((n) => [n, summary(n)]));
    const rm = figures.ringmaster;
    const nginx = figures.nginx;
    const haproxy = figures.haproxy;
    const direct = figures.direct;
    const planeRatios = (r: number, plane: Plane) => {
      const sample = samples[PLANE_TARGETS[plane]]?.[r];
      const nginxSample = samples.nginx?.[r];
      return {
        cpu: ratio(sample?.cpuUsPerRequest ?? undefined, nginxSample?.cpuUsPerRequest ?? undefined),
        rps: ratio(sample?.rps, nginxSample?.rps),
        p99: ratio(sample?.p99Ms, nginxSample?.p99Ms),
      };
    };
    const byPlane = <T>(f: (plane: Plane) => T) => Object.fromEntries(PLANES.map((p) => [p, f(p)]));
    const bestNodeName = NODE_PEERS.reduce((best, n) =>
      (figures[n]?.rps ?? 0) > (figures[best]?.rps ?? 0) ? n : best,
    );
    const bestNode = figures[bestNodeName];
    const rounds = Array.from({ length: ROUNDS }, (_, r) => {
      const rps = (n: string) => samples[n]?.[r]?.rps;
      const p99 = (n: string) => samples[n]?.[r]?.p99Ms;
      const bestNodeRps = Math.max(...NODE_PEERS.map((n) => rps(n) ?? 0));
      return {
        rps: Object.fromEntries(names.map((n) => [n, rps(n) ?? null])),
        ratioVsNginx: ratio(rps('ringmaster'), rps('nginx')),
        ratioVsHaproxy: ratio(rps('ringmaster'), rps('haproxy')),
        ratioVsBestNode: ratio(rps('ringmaster'), bestNodeRps),
        ratioVsRingmasterHttp: ratio(rps('ringmaster'), rps('ringmasterHttp')),
        ratioVsRingmasterUndici: ratio(rps('ringmaster'), rps('ringmasterUndici')),
        p99RatioVsNginx: ratio(p99('ringmaster'), p99('nginx')),
        /** Each plane's CPU per request / nginx's in this round. */
        cpuRatioVsNginx: byPlane((p) => planeRatios(r, p).cpu),
        /** Each plane's requests/s and p99 / nginx's in this round (the `net` plane's are also above). */
        rpsRatioVsNginxByPlane: byPlane((p) => planeRatios(r, p).rps),
        p99RatioVsNginxByPlane: byPlane((p) => planeRatios(r, p).p99),
        cpuUsPerRequest: Object.fromEntries(names.map((n) => [n, samples[n]?.[r]?.cpuUsPerRequest ?? null])),
      };
    });
    /** The medians over rounds of each plane's per-round ratios to nginx (null without nginx). */
    const vsNginxByPlane = byPlane((p) => {
      const perRound = Array.from({ length: ROUNDS }, (_, r) => planeRatios(r, p));
      const medianOf = (xs: (number | null)[]) => {
        const known = xs.filter((x): x is number => x !== null);
        return known.length > 0 ? median(known) : null;
      };
      return {
        medianCpuRatio: medianOf(perRound.map((x) => x.cpu)),
        medianRpsRatio: medianOf(perRound.map((x) => x.rps)),
        medianP99Ratio: medianOf(perRound.map((x) => x.p99)),
      };
    });
    // Fixed-rate run: what Ringmaster adds to latency when nothing is saturated.
    const randomId = (i: number) => `/home?request_id=${(i * 7919) % 1_000_000}`;
    const fixedRun = async (t: Target | undefined) =>
      t === undefined ? null : await fixedRate(t.url, FIXED_RATE, FIXED_RATE_S, randomId);
    const fixedDirect = await fixedRun(targets.direct);
    const fixedRm = await fixedRun(targets.ringmaster);
    const report = {
      ...figures,
      ratioVsNginx: ratio(rm?.rps, nginx?.rps),
      ratioVsHaproxy: ratio(rm?.rps, haproxy?.rps),
      ratioVsBestNode: ratio(rm?.rps, bestNode?.rps),
      bestNode: bestNodeName,
      ratioVsDirect: ratio(rm?.rps, direct?.rps),
      ratioVsRingmasterHttp: ratio(rm?.rps, figures.ringmasterHttp?.rps),
      ratioVsRingmasterUndici: ratio(rm?.rps, figures.ringmasterUndici?.rps),
      cpuRatioVsRingmasterUndici: ratio(
        rm?.cpuUsPerRequest ?? undefined,
        figures.ringmasterUndici?.cpuUsPerRequest ?? undefined,
      ),
      p99RatioVsNginx: ratio(rm?.p99Ms, nginx?.p99Ms),
      p99RatioVsHaproxy: ratio(rm?.p99Ms, haproxy?.p99Ms),
      cpuRatioVsNginx: ratio(rm?.cpuUsPerRequest ?? undefined, nginx?.cpuUsPerRequest ?? undefined),
      vsNginxByPlane,
      rounds,
      at1kRps:
        fixedDirect === null || fixedRm === null
          ? null
          : {
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
        planes: PLANES,
        targets: names,
        ringmaster: `one process (one event loop), default strategy, DATA_PLANE=net, UPSTREAM_CLIENT=${RINGMASTER_UPSTREAM_CLIENT}`,
        ringmasterHttp: `the same with DATA_PLANE=http (node:http server)`,
        ringmasterUndici: `the same as ringmaster with UPSTREAM_CLIENT=undici`,
        nginx: `worker_processes 1, hash $request_uri consistent, keepalive ${NGINX_KEEPALIVE}, keepalive_requests 1000000`,
        haproxy: 'nbthread 1, balance uri whole, hash-type consistent, http-reuse always',
        httpProxy: 'http-proxy 1.18 on node:http, keep-alive Agent (maxSockets 256), xfwd, FNV hash of the URL',
        fastifyProxy:
          '@fastify/http-proxy 11 on fastify 5, undici (256 connections), getUpstream by FNV hash of the URL',
        cpu: 'user + system time of each proxy process tree (/proc/<pid>/stat) over a run, divided by its requests',
        fairness:
          'nginx runs 1 worker, HAProxy 1 thread, each Node proxy 1 process: one event loop each on the 2 cores',
        loadAverage: loadavg().map(round2),
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
