/**
 * `npm run bench:websocket -- --json [--planes net,http] [--rounds 5] [--duration 5]`: in one run
 * on loopback, three backend servers (their /ws echo) and, in front of them, nothing (direct to
 * one backend), Ringmaster (one process per data plane asked for) and nginx (one worker, WebSocket
 * upgrade). 64 connections each send a 1 KB binary message and wait for its echo before sending the
 * next (a closed loop), from a load generator in its own process (bench/lib/ws-load.ts). Rounds
 * rotate the targets' order. Per round and target: messages/s, p50/p99 round trip, and the CPU per
 * message of the target's process tree from /proc; per round and Ringmaster plane, the ratios to
 * nginx (`msgRatioVsNginx`, `cpuRatioVsNginx`), then their medians. Target: >= 0.9 x nginx's
 * messages/s. A target that cannot carry WebSockets (a proxy without tunnels) is reported under
 * `failures` with what it answered, and the others still run. Bounded: every run has a time limit,
 * and so has the whole bench.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Started, stopProcess } from '#devkit/spawn.js';
import { startNginx as startNginxPeer } from './lib/nginx.js';
import { type CpuTime, treeCpuTime } from './lib/proc-cpu.js';
import { startProxy, startServer } from './lib/processes.js';
import type { WsLoadResult } from './lib/ws-load.js';
import { runWsLoad, WsLoadError } from './lib/ws-load-process.js';

const json = process.argv.includes('--json');
const argText = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const argInt = (name: string, fallback: number, min: number, max: number) => {
  const text = argText(name, String(fallback));
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`${name}: expected an integer from ${min} to ${max}, got "${text}"\n`);
    process.exit(2);
  }
  return n;
};

const CONNECTIONS = argInt('--connections', 64, 1, 4096);
const MESSAGE_BYTES = argInt('--bytes', 1024, 8, 1024 * 1024);
const DURATION_S = argInt('--duration', 5, 1, 120);
const ROUNDS = argInt('--rounds', 5, 1, 20);
const WARMUP_S = 2;
const BACKENDS = 3;
const PLANES = argText('--planes', 'net').split(',');
/** Ringmaster's target name for each data plane, as bench:proxy names them. */
const PLANE_TARGET: Record<string, string> = { net: 'ringmaster', http: 'ringmasterHttp' };
for (const plane of PLANES) {
  if (!(plane in PLANE_TARGET)) {
    process.stderr.write(`--planes: expected a comma-separated list of net and http, got "${plane}"\n`);
    process.exit(2);
  }
}
/** The whole bench stops past this, whatever is still running: every run plus generous start-up. */
const HARD_LIMIT_MS = (PLANES.length + 2) * (ROUNDS * DURATION_S + WARMUP_S + 40) * 1000 + 120_000;

const work = mkdtempSync(join(tmpdir(), 'ringmaster-wsbench-'));

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * nginx with one worker, hashing the URI (each connection's request_id) like bench:proxy's, and the
 * upgrade headers nginx's WebSocket guide gives. proxy_read_timeout covers a round with room to spare.
 */
async function startNginx(addresses: string[]): Promise<{ proc: Started; url: string }> {
  const { proc, port } = await startNginxPeer(work, addresses, { keepalive: 0, websocket: true });
  return { proc, url: `ws://127.0.0.1:${port}` };
}

interface Target {
  readonly url: string;
  readonly proc?: Started;
}

interface Figures {
  readonly messagesPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly messages: number;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  /** User + system CPU of the target's process tree per echoed message, µs; null for direct. */
  readonly cpuUsPerMessage: number | null;
  /** The load generator's CPU as a share of one core (it is one Node process). */
  readonly generatorCpuShare: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round2 = (x: number) => Math.round(x * 100) / 100;
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a != null && b != null && b > 0 ? round2(a / b) : null;

async function measure(t: Target, seconds: number): Promise<Figures> {
  const pid = t.proc?.child.pid;
  let before: CpuTime | undefined;
  let after: CpuTime | undefined;
  const result: WsLoadResult = await runWsLoad({
    url: `${t.url}/ws`,
    connections: CONNECTIONS,
    bytes: MESSAGE_BYTES,
    seconds,
    onStart: () => {
      before = pid === undefined ? undefined : treeCpuTime(pid);
    },
    onEnd: () => {
      after = pid === undefined ? undefined : treeCpuTime(pid);
    },
  });
  const cpuUs = before && after ? after.userUs - before.userUs + (after.sysUs - before.sysUs) : undefined;
  return {
    messagesPerS: result.messagesPerS,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    messages: result.messages,
    errors: Object.values(result.errors).reduce((a, b) => a + b, 0),
    errorKinds: result.errors,
    cpuUsPerMessage: cpuUs !== undefined && result.messages > 0 ? round2(cpuUs / result.messages) : null,
    generatorCpuShare: result.generatorCpuShare,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const hardStop = setTimeout(() => {
    process.stderr.write(`bench:websocket: hard time limit (${HARD_LIMIT_MS} ms) passed; stopping\n`);
    process.exit(1);
  }, HARD_LIMIT_MS);
  hardStop.unref();
  const notes: string[] = [];
  const servers = await Promise.all(Array.from({ length: BACKENDS }, (_, i) => startServer(`s${i + 1}`)));
  const addresses = servers.map((s) => s.address);
  const targets: Record<string, Target> = { direct: { url: (addresses[0] as string).replace('http://', 'ws://') } };
  /** Targets that could not carry WebSockets: why, in their own words. */
  const failures: Record<string, string> = {};
  try {
    for (const plane of PLANES) {
      const proxy = await startProxy({
        MEMBERSHIP: 'static',
        STATIC_SERVERS: addresses.map((a, i) => `s${i + 1}=${a}`).join(','),
        DATA_PLANE: plane,
      });
      targets[PLANE_TARGET[plane] as string] = { proc: proxy.proc, url: proxy.url.replace('http://', 'ws://') };
    }
    if (has('nginx')) targets.nginx = await startNginx(addresses);
    else notes.push('nginx not installed (apt-get install nginx-light): no ratios');

    // Warm-up, which also finds a target that cannot carry WebSockets at all: it sits out the rounds.
    const names: string[] = [];
    for (const [name, target] of Object.entries(targets)) {
      try {
        await measure(target, WARMUP_S);
        names.push(name);
      } catch (err) {
        if (!(err instanceof WsLoadError)) throw err;
        failures[name] =
          `${err.message}${name.startsWith('ringmaster') ? ' (a Ringmaster without upgrade tunnels answers this way)' : ''}`;
      }
    }
    const samples: Record<string, (Figures | null)[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round, so no target always runs right after the same neighbour.
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length] as string;
        try {
          samples[name]?.push(await measure(targets[name] as Target, DURATION_S));
        } catch (err) {
          if (!(err instanceof WsLoadError)) throw err;
          failures[`${name} round ${round + 1}`] = err.message;
          samples[name]?.push(null);
        }
      }
    }

    // Every plane asked for, measured or not: a failed one shows as null ratios, not as a missing key.
    const ringmasters = PLANES.map((p) => PLANE_TARGET[p] as string);
    const summary = (name: string) => {
      const s = (samples[name] ?? []).filter((x): x is Figures => x !== null);
      if (s.length === 0) return null;
      const cpu = s.map((x) => x.cpuUsPerMessage).filter((x): x is number => x !== null);
      return {
        messagesPerS: median(s.map((x) => x.messagesPerS)),
        p50Ms: round2(median(s.map((x) => x.p50Ms))),
        p99Ms: round2(median(s.map((x) => x.p99Ms))),
        cpuUsPerMessage: cpu.length > 0 ? median(cpu) : null,
        messages: s.reduce((a, x) => a + x.messages, 0),
        errors: s.reduce((a, x) => a + x.errors, 0),
        generatorCpuShare: round2(median(s.map((x) => x.generatorCpuShare))),
      };
    };
    const rounds = Array.from({ length: ROUNDS }, (_, r) => {
      const at = (n: string) => samples[n]?.[r] ?? null;
      return {
        messagesPerS: Object.fromEntries(names.map((n) => [n, at(n)?.messagesPerS ?? null])),
        p99Ms: Object.fromEntries(names.map((n) => [n, at(n)?.p99Ms ?? null])),
        cpuUsPerMessage: Object.fromEntries(names.map((n) => [n, at(n)?.cpuUsPerMessage ?? null])),
        msgRatioVsNginx: Object.fromEntries(
          ringmasters.map((n) => [n, ratio(at(n)?.messagesPerS, at('nginx')?.messagesPerS)]),
        ),
        cpuRatioVsNginx: Object.fromEntries(
          ringmasters.map((n) => [n, ratio(at(n)?.cpuUsPerMessage, at('nginx')?.cpuUsPerMessage)]),
        ),
        errors: Object.fromEntries(names.filter((n) => (at(n)?.errors ?? 0) > 0).map((n) => [n, at(n)?.errorKinds])),
      };
    });
    const medianOf = (xs: (number | null | undefined)[]) => {
      const present = xs.filter((x): x is number => x != null);
      return present.length > 0 ? median(present) : null;
    };
    const msgRatioVsNginx = Object.fromEntries(
      ringmasters.map((n) => [n, medianOf(rounds.map((r) => r.msgRatioVsNginx[n]))]),
    );
    const cpuRatioVsNginx = Object.fromEntries(
      ringmasters.map((n) => [n, medianOf(rounds.map((r) => r.cpuRatioVsNginx[n]))]),
    );
    const report = {
      figures: Object.fromEntries(Object.keys(targets).map((n) => [n, summary(n)])),
      msgRatioVsNginx,
      cpuRatioVsNginx,
      target: 'median msgRatioVsNginx >= 0.9',
      meetsTarget: Object.fromEntries(
        ringmasters.map((n) => [n, msgRatioVsNginx[n] == null ? null : (msgRatioVsNginx[n] as number) >= 0.9]),
      ),
      rounds,
      failures,
      config: {
        loadGenerator:
          'bench/lib/ws-load.ts (the ws package) in its own process, closed loop: each connection sends one binary message and waits for its echo',
        connections: CONNECTIONS,
        messageBytes: MESSAGE_BYTES,
        durationS: DURATION_S,
        warmupS: WARMUP_S,
        rounds: ROUNDS,
        backends: BACKENDS,
        echo: "the backend's /ws: binary reply = its id, 0x0A, the message",
        key: '/ws?request_id=<per connection>',
        ringmaster: `one process (one event loop) per data plane, default strategy, planes ${PLANES.join(',')}`,
        nginx:
          'worker_processes 1, hash $request_uri consistent, proxy_http_version 1.1, Upgrade $http_upgrade, Connection "upgrade"',
        cpu: 'user + system time of each target process tree (/proc/<pid>/stat) over a run, divided by its echoed messages',
        loadAverage: loadavg().map(round2),
        cores: cpus().length,
      },
      notes,
      wallS: Math.round((performance.now() - started) / 1000),
    };
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    clearTimeout(hardStop);
    for (const t of Object.values(targets)) if (t.proc) await stopProcess(t.proc.child);
    for (const s of servers) await stopProcess(s.proc.child);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:websocket failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
