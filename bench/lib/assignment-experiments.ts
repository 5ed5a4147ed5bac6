/**
 * The load-balancer experiments the assignments ran by hand (A1-A3), each on
 * its own freshly started local cluster. Every one is bounded in count (fixed
 * request totals, per-request timeouts in runLoad) and the caller bounds it in
 * time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '#core/util/seeded-random.js';
import { runLoad } from '#devkit/load.js';
import { type LocalCluster, startLocalCluster } from './local-cluster.js';
import { serverPid } from './server-pid.js';

/** The assignments' request count per measurement. */
export const REQUESTS = 10_000;
/** The failure test's request count per phase. */
export const FAILURE_REQUESTS = 1000;
/** Requests in flight at once, as the assignments' async clients had. */
const CONCURRENCY = 32;
/** The assignments waited this long after growing the fleet before measuring. */
const SETTLE_AFTER_ADD_MS = 3000;
/** A2's fleet sizes. */
export const SCALING_SIZES = [2, 3, 4, 5, 6] as const;
/** The server A3 kills. */
const VICTIM = 's2';

export class ExperimentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExperimentError';
  }
}

/** How requests spread over the servers in the ring (a server that got none counts as 0). */
export interface Spread {
  readonly n: number;
  /** The proxy's balancing strategy. */
  readonly strategy: string;
  readonly counts: Record<string, number>;
  /**
   * Each server's effective weight as the measurement began: below 1 while a
   * newcomer is in slow start, which is what skews a measurement taken 3 s
   * after an /add.
   */
  readonly effectiveWeights: Record<string, number>;
  readonly requests: number;
  readonly failed: number;
  /** A few failure lines, for the report; never the whole list. */
  readonly failureSamples: string[];
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly maxOverMean: number;
  readonly minOverMean: number;
}

export interface ClusterSettings {
  readonly endpoint: string;
  readonly noSlowStart: boolean;
}

const FAILURE_SAMPLES = 5;
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** The assignments' keys: `/home?request_id=<random 6-digit number>`, seeded so runs repeat. */
function randomIds(seed: number): (i: number) => string {
  const random = seededRandom(seed);
  return () => `/home?request_id=${100_000 + Math.floor(random() * 900_000)}`;
}

async function measure(cluster: LocalCluster, requests: number, seed: number): Promise<Spread> {
  const members = await cluster.replicas();
  const { strategy, effectiveWeights } = await cluster.weights();
  const result = await runLoad(cluster.url, requests, CONCURRENCY, randomIds(seed));
  const counts: Record<string, number> = {};
  for (const id of [...new Set([...members, ...result.servers.keys()])].sort(byServerNumber)) {
    counts[id] = result.servers.get(id) ?? 0;
  }
  const values = Object.values(counts);
  const served = values.reduce((a, b) => a + b, 0);
  const mean = served / members.length;
  const max = Math.max(...values);
  const min = Math.min(...values);
  return {
    n: members.length,
    strategy,
    counts,
    effectiveWeights,
    requests,
    failed: result.failures.length,
    failureSamples: result.failures.slice(0, FAILURE_SAMPLES),
    mean: round(mean, 1),
    min,
    max,
    maxOverMean: round(max / mean),
    minOverMean: round(min / mean),
  };
}

const byServerNumber = (a: string, b: string) => Number(a.slice(1)) - Number(b.slice(1)) || a.localeCompare(b);

async function withCluster<T>(
  settings: ClusterSettings,
  servers: number,
  work: (c: LocalCluster) => Promise<T>,
): Promise<T> {
  const cluster = await startLocalCluster({ ...settings, servers });
  try {
    return await work(cluster);
  } finally {
    await cluster.stop();
  }
}

async function addOne(cluster: LocalCluster): Promise<void> {
  const added = await cluster.admin('POST', '/add', { n: 1 });
  if (added.status !== 200)
    throw new ExperimentError(`POST /add answered ${added.status}: ${JSON.stringify(added.body)}`);
  await sleep(SETTLE_AFTER_ADD_MS);
}

/** A1: 10,000 requests over N = 3. */
export function runA1(settings: ClusterSettings): Promise<Spread> {
  return withCluster(settings, 3, (cluster) => measure(cluster, REQUESTS, 1));
}

/** A2: N = 2..6, grown one server at a time with the admin API, 10,000 requests at each size. */
export function runA2(settings: ClusterSettings): Promise<Spread[]> {
  return withCluster(settings, SCALING_SIZES[0], async (cluster) => {
    const rows: Spread[] = [];
    for (const n of SCALING_SIZES) {
      if (n > SCALING_SIZES[0]) await addOne(cluster);
      const row = await measure(cluster, REQUESTS, n);
      if (row.n !== n) throw new ExperimentError(`expected ${n} servers in the ring, /rep lists ${row.n}`);
      rows.push(row);
    }
    return rows;
  });
}

export interface FailureRun {
  /** How the server was taken out: SIGKILL of its process, or DELETE /rm where its PID cannot be found. */
  readonly method: 'SIGKILL' | 'DELETE /rm';
  readonly killed: string;
  /** Requests sent right after the failure, before anything was added. */
  readonly duringFailure: Spread;
  /** Requests sent after POST /add and the 3 s settle. */
  readonly afterAdd: Spread;
}

/**
 * A3: a server fails (SIGKILL, as the assignments killed a container; the
 * local scaler respawns it, as their load balancer did), 1,000 requests go
 * out at once; then one server is added and 1,000 more go out. None may fail.
 */
export function runA3(settings: ClusterSettings): Promise<FailureRun> {
  return withCluster(settings, 3, async (cluster) => {
    const proxyPid = cluster.proc.child.pid;
    const pid = proxyPid === undefined ? undefined : serverPid(proxyPid, VICTIM);
    let method: FailureRun['method'];
    if (pid !== undefined) {
      process.kill(pid, 'SIGKILL');
      method = 'SIGKILL';
    } else {
      const removed = await cluster.admin('DELETE', '/rm', { n: 1, hostnames: [VICTIM] });
      if (removed.status !== 200) throw new ExperimentError(`DELETE /rm answered ${removed.status}`);
      method = 'DELETE /rm';
    }
    const duringFailure = await measure(cluster, FAILURE_REQUESTS, 101);
    await addOne(cluster);
    const afterAdd = await measure(cluster, FAILURE_REQUESTS, 102);
    return { method, killed: VICTIM, duringFailure, afterAdd };
  });
}
