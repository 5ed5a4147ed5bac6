import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RingStore } from '#core/aws/ring-store.js';
import { DEFAULT_STRATEGY } from '#core/balancing/strategies.js';
import { awsEnv, createTestTables, type TestTables, testClients } from '../helpers/aws.js';
import { built, makeBackends, route } from '../helpers/backends.js';
import { LeaseFleet } from '../helpers/lease-fleet.js';
import { startTestProxy, type TestProxy, waitFor } from '../helpers/processes.js';

/**
 * Issue 18, item 5: several real proxy processes (MEMBERSHIP=dynamodb) and a
 * few hundred leases in the emulator, with membership churning in batches as
 * the autoscaler churns it: servers join, drain and leave, and others stop
 * heartbeating and lapse. Requests loop through every proxy the whole time.
 * After each batch, once the proxies have converged, every proxy must route
 * every key to the same server (the one a Maglev table built here from the
 * expected membership names), and no request may have failed.
 *
 * The stand-in servers are loopback listeners in one child process, each
 * with a real lease written by the server's RingLease (LeaseFleet). Like a
 * real server leaving, a drained server deletes its lease and keeps serving
 * until every proxy has dropped it; a lapsing one keeps serving too.
 */
const PROXIES = 3;
const INITIAL_SERVERS = 200;
/** Each churn batch: servers that join, that drain and leave, and whose leases lapse. */
const JOINS = 30;
const LEAVES = 20;
const LAPSES = 15;
const ROUNDS = 2;
/**
 * A server's 5 s / 15 s, shortened so a lapse takes seconds, yet not so short that the heartbeats
 * (about 65 writes a second here) swamp a single-threaded emulator on a loaded machine.
 */
const HEARTBEAT_MS = 4000;
const LEASE_MS = 12_000;
/** A lapse waits out the lease, the sweeper's poll and bump, and every proxy's next poll and scan. */
const CONVERGENCE_TIMEOUT_MS = LEASE_MS + 12_000;
const STATUS_POLL_MS = 250;
/** Keys whose route is compared across the proxies after each batch. */
const ROUTED_KEYS = 400;
/** Request loops per proxy during the churn, each bounded in count and time. */
const LOOPS_PER_PROXY = 2;
const LOOP_MAX_REQUESTS = 20_000;
const LOOP_MAX_MS = 90_000;
/** A pause between a loop's requests keeps the load light on a shared 2-core machine. */
const LOOP_PAUSE_MS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ids = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

interface ServerView {
  readonly id: string;
  readonly status: string;
  /** Healthy, not ejected, not draining. */
  readonly available: boolean;
}

/** The members a proxy routes with, from its /status. */
async function membersOf(proxy: TestProxy): Promise<ServerView[]> {
  const res = await proxy.admin('GET', '/status');
  if (res.status !== 200) throw new Error(`/status answered ${res.status}`);
  return res.body.message.servers.map((s: ServerView) => ({ id: s.id, status: s.status, available: s.available }));
}

/** Waits until every proxy routes with exactly `expected`, every member available. */
async function converged(proxies: readonly TestProxy[], expected: readonly string[], what: string): Promise<number> {
  const want = JSON.stringify([...expected].sort());
  let last: string[] = [];
  try {
    return await waitFor(
      async () => {
        const views = await Promise.all(proxies.map(membersOf));
        last = views.map((v) => {
          const available = v.filter((s) => s.available).map((s) => s.id);
          return available.length === v.length
            ? JSON.stringify(available.sort())
            : `${v.length - available.length} of ${v.length} not available`;
        });
        if (last.every((l) => l === want)) return true;
        await sleep(STATUS_POLL_MS);
        return false;
      },
      CONVERGENCE_TIMEOUT_MS,
      what,
    );
  } catch (err) {
    const summary = last.map((l) => (l.startsWith('[') ? `${JSON.parse(l).length} members` : l));
    throw new Error(`${(err as Error).message}: want ${expected.length} members, proxies hold ${summary.join('; ')}`, {
      cause: err,
    });
  }
}

/** Continuous requests through every proxy; counts successes, and records every failure. */
class RequestLoops {
  readonly served: number[];
  readonly failures: string[] = [];
  private running = true;
  private paused: Promise<void> | undefined;
  private resume: (() => void) | undefined;
  private inflight = 0;
  private idle: (() => void) | undefined;
  private readonly loops: Promise<void>[] = [];

  constructor(
    proxies: readonly TestProxy[],
    /** Every id a response may name: any server that has been in the fleet. */
    private readonly known: Set<string>,
  ) {
    this.served = proxies.map(() => 0);
    for (const [p, proxy] of proxies.entries())
      for (let l = 0; l < LOOPS_PER_PROXY; l++) this.loops.push(this.loop(p, proxy, l));
  }

  private async loop(p: number, proxy: TestProxy, l: number): Promise<void> {
    const deadline = Date.now() + LOOP_MAX_MS;
    for (let i = 0; i < LOOP_MAX_REQUESTS && this.running && Date.now() < deadline; i++) {
      if (this.paused) await this.paused;
      if (!this.running) break;
      const key = `loop-${p}-${l}-${i}`;
      this.inflight++;
      try {
        const res = await request(`${proxy.url}/home?request_id=${key}`);
        const body = await res.body.text();
        if (res.statusCode !== 200 || !this.known.has(body)) {
          this.failures.push(`proxy ${p} ${key}: ${res.statusCode} ${body.slice(0, 200)}`);
        } else this.served[p] = (this.served[p] as number) + 1;
      } catch (err) {
        this.failures.push(`proxy ${p} ${key}: ${(err as Error).message}`);
      } finally {
        this.inflight--;
        if (this.inflight === 0) this.idle?.();
      }
      await sleep(LOOP_PAUSE_MS);
    }
  }

  /** Holds every loop between requests and resolves once none is in flight (bounded load then cannot divert). */
  async pause(): Promise<void> {
    this.paused = new Promise((resolve) => {
      this.resume = resolve;
    });
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.idle = undefined;
  }

  unpause(): void {
    this.resume?.();
    this.paused = undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unpause();
    await Promise.all(this.loops);
  }
}

/** Requests a routing check keeps in flight through each proxy. */
const ROUTE_CONCURRENCY = 20;

/**
 * The server each proxy sends each key to. Bounded load would send a key
 * elsewhere while its server already had a request from the same proxy in
 * flight, so keys go in groups whose expected servers differ: then a proxy
 * whose table matches the expected one picks exactly, and any other shows.
 */
async function routes(
  proxies: readonly TestProxy[],
  keys: readonly string[],
  expected: readonly string[],
): Promise<string[][]> {
  const groups: number[][] = [];
  let group: number[] = [];
  let owners = new Set<string>();
  keys.forEach((_, i) => {
    const owner = expected[i] as string;
    if (group.length === ROUTE_CONCURRENCY || owners.has(owner)) {
      groups.push(group);
      group = [];
      owners = new Set();
    }
    group.push(i);
    owners.add(owner);
  });
  groups.push(group);
  return Promise.all(
    proxies.map(async (proxy) => {
      const seen: string[] = [];
      for (const g of groups) {
        await Promise.all(
          g.map(async (i) => {
            const res = await request(`${proxy.url}/home?request_id=${keys[i]}`);
            seen[i] = `${res.statusCode === 200 ? '' : `${res.statusCode} `}${await res.body.text()}`;
          }),
        );
      }
      return seen;
    }),
  );
}

describe('many proxies over a churning Ring', () => {
  let tables: TestTables;
  let fleet: LeaseFleet;
  let proxies: TestProxy[] = [];

  beforeAll(async () => {
    tables = await createTestTables('many');
    fleet = await LeaseFleet.start({
      env: { ...awsEnv(), RING_TABLE: tables.names.ring },
      heartbeatMs: HEARTBEAT_MS,
      leaseMs: LEASE_MS,
    });
  });
  afterAll(async () => {
    const codes = await Promise.all(proxies.map((p) => p.stop()));
    await fleet?.stop();
    await tables?.drop();
    expect(codes.every((c) => c === 0)).toBe(true);
  });

  it('every proxy routes every key alike after each batch, and no request fails meanwhile', async () => {
    // How long each step took, printed at the end: what convergence costs under this machine's load.
    const started = performance.now();
    const phases: string[] = [];
    const phase = (what: string) => phases.push(`${Math.round(performance.now() - started)} ms: ${what}`);
    const ring = new RingStore(testClients().doc, tables.names.ring);
    let live = ids('s', INITIAL_SERVERS);
    const known = new Set(live);
    // The proxies start while the servers register (awaited below; a failure is not left unhandled meanwhile).
    const joined = fleet.join(live);
    joined.catch(() => {});
    proxies = await Promise.all(
      Array.from({ length: PROXIES }, () =>
        startTestProxy({
          ...awsEnv(),
          MEMBERSHIP: 'dynamodb',
          RING_TABLE: tables.names.ring,
          // Membership, not health, is under test: on a loaded machine a check of one of 265 servers
          // can time out and make one proxy route around it. At this interval no server sees the two
          // failed rounds that would mark it unhealthy while the test runs.
          HEALTH_INTERVAL_MS: '60000',
        }),
      ),
    );
    await joined;
    phase(`${INITIAL_SERVERS} servers joined, ${PROXIES} proxies started`);
    await converged(proxies, live, `the ${INITIAL_SERVERS} first servers`);
    phase('every proxy routes with them');

    /** Asserts that every proxy sends each key where a table built from `live` says. */
    const routesAgree = async (round: number) => {
      await loops.pause();
      try {
        const keys = ids(`key-${round}`, ROUTED_KEYS);
        const expected = route(built(DEFAULT_STRATEGY, makeBackends(live)), keys);
        const seen = await routes(proxies, keys, expected);
        for (const owners of seen) expect(owners).toEqual(expected);
        // The keys reach a good part of the fleet, not a corner of it.
        expect(new Set(expected).size).toBeGreaterThan(live.length / 2);
      } finally {
        loops.unpause();
      }
    };

    const loops = new RequestLoops(proxies, known);
    try {
      await routesAgree(0);
      for (let round = 1; round <= ROUNDS; round++) {
        const joining = ids(`r${round}-join`, JOINS);
        // The autoscaler removes the newest servers first; lapses strike anywhere: here, the oldest.
        const leaving = live.slice(-LEAVES);
        const lapsing = live.slice(0, LAPSES);
        for (const id of joining) known.add(id);
        const drainThenLeave = async () => {
          // As /rm does: mark them draining in the Ring, wait until no proxy sends them new requests, then
          // each server's shutdown deletes its lease (it goes on serving what is in flight).
          await Promise.all(leaving.map((id) => ring.drain(id)));
          await waitFor(
            async () =>
              (await Promise.all(proxies.map(membersOf))).every((v) =>
                v.every((s) => !leaving.includes(s.id) || s.status === 'draining'),
              ),
            CONVERGENCE_TIMEOUT_MS,
            `round ${round}: every proxy sees the ${LEAVES} leaving servers draining`,
          );
          phase(`round ${round}: every proxy sees the leaving servers draining`);
          await fleet.leave(leaving);
        };
        phase(`round ${round}: churn starts`);
        await Promise.all([fleet.join(joining), drainThenLeave(), fleet.lapse(lapsing)]);
        phase(`round ${round}: joined, left; ${LAPSES} leases lapse within ${LEASE_MS} ms`);
        live = [...live.filter((id) => !leaving.includes(id) && !lapsing.includes(id)), ...joining];
        await converged(proxies, live, `round ${round}: +${JOINS} joined, -${LEAVES} left, -${LAPSES} lapsed`);
        phase(`round ${round}: every proxy routes with the ${live.length} servers left`);
        // Every proxy has dropped them: now they may stop listening.
        await fleet.close([...leaving, ...lapsing]);
        await routesAgree(round);
        phase(`round ${round}: ${ROUTED_KEYS} keys routed alike by every proxy`);
      }
    } finally {
      await loops.stop();
      const { heartbeatErrors, leaveErrors } = await fleet.stats();
      phase(
        `requests served per proxy ${loops.served.join(', ')}; fleet heartbeat errors ${heartbeatErrors}, leave errors ${leaveErrors}`,
      );
      console.info(phases.join('\n'));
    }

    expect(loops.failures, 'failed requests').toEqual([]);
    // The loops really ran through every proxy during the churn.
    for (const served of loops.served) expect(served).toBeGreaterThan(500);
  }, 120_000);
});
