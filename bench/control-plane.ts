/**
 * `npm run bench:control-plane -- --json`: what agreeing on membership costs
 * and how fast it converges, on the emulator. For each fleet size (servers)
 * and proxy count, a heartbeat driver keeps `servers` leases renewed at the
 * servers' real cadence (RING_HEARTBEAT_INTERVAL_MS) through the real
 * RingStore, and `proxies` real DynamoMembership readers poll the table each
 * with its own client. It measures each proxy's requests and read units in a
 * steady window, then joins (a new lease until every proxy routes with it)
 * and lapses (a lease's expiry until every proxy has dropped it). Also: a
 * Maglev rebuild at 1,000 members, and the monthly figures from the pricing
 * module. Read units are computed from the requests each proxy made (item
 * counts × the pricing module's item sizes, strong or eventual, the way
 * DynamoDB bills), since MiniStack reports no ConsumedCapacity.
 */
import { randomBytes } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pino from 'pino';
import { RingStore } from '#core/aws/ring-store.js';
import { createTables, type TableNames } from '#core/aws/tables.js';
import { MAX_TABLE_MEMBERS, MaglevTable } from '#core/balancing/maglev-table.js';
import type { Member } from '#core/ports/membership.js';
import { HOURS_PER_MONTH } from '#core/pricing/deployment-cost.js';
import {
  controlPlaneUnitsPerSecond,
  dynamoHourlyUsd,
  heartbeatMonthlyUsdPerServer,
  ITEM_BYTES,
  scanEveryPollUnitsPerSecond,
  scanReadUnits,
} from '#core/pricing/dynamodb.js';
import { emulatorClient, useEmulator } from '#devkit/emulator.js';
import { DynamoMembership } from '#proxy/membership/dynamo-membership.js';
import { RING_HEARTBEAT_INTERVAL_MS, RING_LEASE_MS } from '#server/config.js';
import { ROOT } from './lib/processes.js';

const json = process.argv.includes('--json');
const argValue = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const listArg = (name: string, fallback: number[]) => {
  const i = process.argv.indexOf(name);
  return i >= 0
    ? String(process.argv[i + 1])
        .split(',')
        .map(Number)
    : fallback;
};
const SERVER_COUNTS = listArg('--servers', [10, 100, 1000]);
const PROXY_COUNTS = listArg('--proxies', [1, 10]);
const progress = (what: string) => process.stderr.write(`${new Date().toISOString()} ${what}\n`);
const REFRESH_MS = 1000;
/** The steady window over which reads and writes are counted: long enough to hold more than one sweep. */
const STEADY_MS = argValue('--steady-ms', 20_000);
const JOINS = argValue('--joins', 5);
const LAPSES = argValue('--lapses', 5);
/** Leases that are left to lapse: short, so the bench does not wait the real 15 s. */
const LAPSING_LEASE_MS = 3000;
/** Registration writes in flight at once while the fleet is set up. */
const SETUP_CONCURRENCY = 25;
/** The leases the fleet registers with, before the driver renews them at the real length. */
const SETUP_LEASE_MS = Math.max(RING_LEASE_MS, argValue('--lease-ms', RING_LEASE_MS)) + 120_000;
/**
 * The driver's cadence: the servers' own unless overridden. A single-threaded emulator on a loaded machine
 * cannot take 1,000 servers' 200 writes a second; a slower cadence (`--heartbeat-ms 20000 --lease-ms 60000`)
 * keeps the fleet's leases alive there, so reads and convergence are measured without a flood of
 * re-registrations. The monthly figures always use the servers' real cadence.
 */
const DRIVER_HEARTBEAT_MS = argValue('--heartbeat-ms', RING_HEARTBEAT_INTERVAL_MS);
const DRIVER_LEASE_MS = argValue('--lease-ms', RING_LEASE_MS);
const CONVERGENCE_TIMEOUT_MS = 20_000;
const MAGLEV_BUILDS = 31;
const silent = pino({ level: process.env.BENCH_LOG ?? 'silent' }, pino.destination(2));

interface RequestCount {
  /** GetItem and Scan requests (pages). */
  requests: number;
  readUnits: number;
  writes: number;
  /** When this client last sent a GetItem: a reader's poll starts with its version read. */
  pollStartedAt: number;
  /** When this client last sent a Scan: a sweep's starts with it. */
  scanStartedAt: number;
}

/** A version bump (an ADD on the version item) and what led to it, to split convergence times. */
interface Bump {
  /** When the request that led to the bump was sent: the sweep's scan, or the lease write. */
  readonly causeStartedAt: number;
  readonly doneAt: number;
}

/** Every bump any client of this bench made, in order. */
const bumps: Bump[] = [];

/** Milliseconds each kind of request took, for the emulator's share of convergence. */
const latencies = new Map<string, number[]>();

function requestKind(commandName: string, input: { ConsistentRead?: boolean; UpdateExpression?: string }): string {
  if (commandName === 'ScanCommand') return input.ConsistentRead ? 'scanStrong' : 'scanEventual';
  if (commandName === 'GetItemCommand') return 'versionRead';
  if (commandName === 'UpdateItemCommand') return input.UpdateExpression?.startsWith('ADD') ? 'bump' : 'leaseWrite';
  return commandName;
}

/** A client that counts its requests and computes their read units from what they returned. */
function countingDoc(endpoint: string): { doc: DynamoDBDocumentClient; count: RequestCount } {
  const client: DynamoDBClient = emulatorClient(endpoint);
  const count: RequestCount = { requests: 0, readUnits: 0, writes: 0, pollStartedAt: 0, scanStartedAt: 0 };
  let lastWriteStartedAt = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ConsistentRead?: boolean; UpdateExpression?: string };
      const kind = requestKind(context.commandName ?? '', input);
      const sentAt = Date.now();
      if (kind === 'versionRead') count.pollStartedAt = sentAt;
      if (kind.startsWith('scan')) count.scanStartedAt = sentAt;
      if (kind === 'leaseWrite') lastWriteStartedAt = sentAt;
      const result = await next(args);
      const doneAt = Date.now();
      if (recordingLatencies) {
        const list = latencies.get(kind) ?? [];
        list.push(doneAt - sentAt);
        latencies.set(kind, list);
      }
      if (kind === 'bump') {
        // A reader bumps after its sweep's scan; the heartbeat driver after the lease write.
        const causeStartedAt = Math.max(count.scanStartedAt, lastWriteStartedAt);
        bumps.push({ causeStartedAt, doneAt });
      }
      const output = (result.output ?? {}) as { Items?: unknown[]; Count?: number };
      if (context.commandName === 'GetItemCommand') {
        count.requests++;
        count.readUnits += input.ConsistentRead ? 1 : 0.5;
      } else if (context.commandName === 'ScanCommand') {
        count.requests++;
        const items = output.Items?.length ?? output.Count ?? 0;
        count.readUnits += scanReadUnits(items * ITEM_BYTES.ring) * (input.ConsistentRead ? 1 : 0.5);
      } else count.writes++;
      return result;
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return { doc: DynamoDBDocumentClient.from(client), count };
}

interface Reader {
  membership: DynamoMembership;
  count: RequestCount;
  ids: Set<string>;
  /** When it last announced a membership, and when the poll that read it began. */
  announcedAt: number;
  announcedPollStartedAt: number;
  /** Listeners waiting for a membership condition. */
  waiters: Set<() => void>;
}

/** Whether request latencies are being recorded (the join and lapse phases). */
let recordingLatencies = false;

/**
 * One convergence split in two: the time inside DynamoDB requests on its
 * critical path (the emulator's share: the lease write and bump, or the
 * sweep's scan and bump, then the last proxy's version read and scan), and
 * the rest, spent waiting for a poll or a sweep to come round (the design's
 * share, with this process's timer delays).
 */
interface Split {
  readonly totalMs: number;
  readonly emulatorMs: number;
  readonly designMs: number;
}

function split(totalMs: number, emulatorMs: number): Split {
  const emulator = Math.min(totalMs, Math.max(0, emulatorMs));
  return { totalMs, emulatorMs: emulator, designMs: totalMs - emulator };
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Resolves at the time `done` holds for every reader, with the reader whose announcement made it hold. */
function whenAll(readers: readonly Reader[], done: (r: Reader) => boolean): Promise<{ at: number; last: Reader }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      for (const r of readers) r.waiters.delete(check);
      reject(
        new Error(
          `readers did not converge within ${CONVERGENCE_TIMEOUT_MS} ms (they hold ${readers.map((r) => r.ids.size).join(', ')} members; errors ${readers.map((r) => r.membership.stats().errors).join(', ')})`,
        ),
      );
    }, CONVERGENCE_TIMEOUT_MS);
    function check() {
      if (!readers.every(done)) return;
      clearTimeout(timer);
      for (const r of readers) r.waiters.delete(check);
      const last = readers.reduce((a, b) => (b.announcedAt > a.announcedAt ? b : a));
      resolve({ at: Date.now(), last });
    }
    for (const r of readers) r.waiters.add(check);
    check();
  });
}

/** One row; whatever it started is stopped and its tables dropped, also when it fails. */
async function runRow(endpoint: string, servers: number, proxies: number) {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    return await measureRow(endpoint, servers, proxies, (cleanup) => cleanups.push(cleanup));
  } finally {
    bumps.length = 0;
    recordingLatencies = false;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

async function measureRow(
  endpoint: string,
  servers: number,
  proxies: number,
  onCleanup: (cleanup: () => Promise<void>) => void,
) {
  const suffix = randomBytes(4).toString('hex');
  const names: TableNames = {
    ring: `rm-bench-cp-ring-${suffix}`,
    shards: `rm-bench-cp-shards-${suffix}`,
    map: `rm-bench-cp-map-${suffix}`,
    records: `rm-bench-cp-records-${suffix}`,
  };
  const admin = emulatorClient(endpoint);
  await createTables(admin, names);
  onCleanup(async () => {
    await Promise.all(
      Object.values(names).map((TableName) => admin.send(new DeleteTableCommand({ TableName })).catch(() => {})),
    );
  });
  const driver = countingDoc(endpoint);
  const ring = new RingStore(driver.doc, names.ring);
  const ids = Array.from({ length: servers }, (_, i) => `srv-${String(i).padStart(4, '0')}`);
  const address = (id: string) => `http://10.0.${id.slice(-4, -2)}.${Number(id.slice(-2))}:8080`;

  // The fleet registers first, as fast as the emulator takes it, with leases long enough to outlast that on a
  // loaded machine (1,000 registrations took 20 s there, past the real 15 s lease); the driver's rounds then
  // renew every lease at the real length.
  await inBatches(ids, SETUP_CONCURRENCY, (id) => ring.heartbeat(id, address(id), 1, SETUP_LEASE_MS));

  // The driver: every lease renewed once per DRIVER_HEARTBEAT_MS, spread evenly over it.
  let driving = true;
  let driverLagMs = 0;
  let driverErrors = 0;
  let rounds = 0;
  const drive = (async () => {
    const tick = 100;
    const perTick = (servers * tick) / DRIVER_HEARTBEAT_MS;
    let next = 0;
    let owed = 0;
    while (driving) {
      const started = Date.now();
      owed += perTick;
      const batch: string[] = [];
      while (owed >= 1) {
        batch.push(ids[next % servers] as string);
        next++;
        owed--;
      }
      // A failed beat is counted, as a server would retry on its next tick; the row reports them.
      await Promise.all(
        batch.map((id) =>
          ring.heartbeat(id, address(id), 1, DRIVER_LEASE_MS).catch(() => {
            driverErrors++;
          }),
        ),
      );
      rounds = Math.floor(next / servers);
      const spent = Date.now() - started;
      driverLagMs = Math.max(driverLagMs, spent - tick);
      await sleep(Math.max(0, tick - spent));
    }
  })();
  onCleanup(async () => {
    driving = false;
    await drive;
  });

  const readers: Reader[] = [];
  onCleanup(async () => {
    await Promise.all(readers.map((r) => r.membership.stop()));
  });
  for (let p = 0; p < proxies; p++) {
    const { doc, count } = countingDoc(endpoint);
    const reader: Reader = {
      membership: new DynamoMembership(new RingStore(doc, names.ring), REFRESH_MS, silent),
      count,
      ids: new Set(),
      announcedAt: 0,
      announcedPollStartedAt: 0,
      waiters: new Set(),
    };
    await reader.membership.start((members: readonly Member[]) => {
      reader.ids = new Set(members.map((m) => m.id));
      reader.announcedAt = Date.now();
      reader.announcedPollStartedAt = count.pollStartedAt;
      for (const w of [...reader.waiters]) w();
    });
    readers.push(reader);
  }
  progress(`${servers} servers × ${proxies} proxies: fleet registered, readers started`);
  await whenAll(readers, (r) => r.ids.size === servers);
  // Once every lease has been renewed at its real length (and so its real expiry), the steady window starts.
  while (rounds < 1) await sleep(REFRESH_MS / 10);
  await sleep(2 * REFRESH_MS);
  progress('readers converged on the fleet, every lease renewed; steady window');

  // Steady state.
  const before = readers.map((r) => ({ ...r.count }));
  const writesBefore = driver.count.writes;
  const steadyStart = Date.now();
  // The lag that matters is at the real cadence, not in the registering round.
  driverLagMs = 0;
  await sleep(STEADY_MS);
  const seconds = (Date.now() - steadyStart) / 1000;
  const perProxy = readers.map((r, i) => ({
    requests: (r.count.requests - (before[i] as RequestCount).requests) / seconds,
    readUnits: (r.count.readUnits - (before[i] as RequestCount).readUnits) / seconds,
  }));
  const writesPerServerPerSecond = (driver.count.writes - writesBefore) / seconds / servers;

  progress('joins');
  recordingLatencies = true;
  latencies.clear();
  // Joins: from the write of a new lease to every proxy routing with it.
  const join: Split[] = [];
  for (let j = 0; j < JOINS; j++) {
    const id = `join-${j}`;
    const startedAt = Date.now();
    const converged = whenAll(readers, (r) => r.ids.has(id));
    await ring.heartbeat(id, 'http://10.1.0.1:8080', 1, DRIVER_LEASE_MS);
    const writtenAt = Date.now();
    const { at, last } = await converged;
    join.push(split(at - startedAt, writtenAt - startedAt + (last.announcedAt - last.announcedPollStartedAt)));
    await sleep(300 + Math.random() * 700);
  }
  progress('lapses');
  // Lapses: from a lease's expiry to every proxy having dropped it.
  const lapse: Split[] = [];
  for (let l = 0; l < LAPSES; l++) {
    const id = `lapse-${l}`;
    // RingStore.heartbeat stamps the expiry from its clock as it starts, so take the time before the call.
    const writing = Date.now();
    await ring.heartbeat(id, 'http://10.2.0.1:8080', 1, LAPSING_LEASE_MS);
    const expiresAt = writing + LAPSING_LEASE_MS;
    await whenAll(readers, (r) => r.ids.has(id));
    const { at, last } = await whenAll(readers, (r) => !r.ids.has(id));
    // The bump that made the proxies drop it: the first after the expiry (the sweeper's, normally).
    const bump = bumps.find((b) => b.doneAt > expiresAt);
    const detectionMs = bump ? bump.doneAt - Math.max(bump.causeStartedAt, expiresAt) : 0;
    lapse.push(split(Math.max(0, at - expiresAt), detectionMs + (last.announcedAt - last.announcedPollStartedAt)));
  }
  recordingLatencies = false;

  const sweeping = readers.map((r) => r.membership.isSweeper());
  const sweepers = sweeping.filter(Boolean).length;
  const quantiles = (splits: readonly Split[], p: number) => {
    const q = (pick: (s: Split) => number) =>
      percentile(
        splits.map(pick).sort((a, b) => a - b),
        p,
      );
    return { total: q((s) => s.totalMs), emulator: q((s) => s.emulatorMs), design: q((s) => s.designMs) };
  };
  const joinP50 = quantiles(join, 0.5);
  const joinP99 = quantiles(join, 0.99);
  const lapseP50 = quantiles(lapse, 0.5);
  const lapseP99 = quantiles(lapse, 0.99);
  const emulatorLatencyMs = Object.fromEntries(
    [...latencies].map(([kind, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return [kind, { n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }];
    }),
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    servers,
    proxies,
    readsPerProxyPerSecond: round(mean(perProxy.map((p) => p.requests))),
    readUnitsPerProxyPerSecond: round(mean(perProxy.map((p) => p.readUnits))),
    /** The proxies other than the sweeper: what a proxy's own polling costs (no such proxy with one proxy). */
    nonSweeperReadUnitsPerProxyPerSecond:
      proxies > sweepers ? round(mean(perProxy.filter((_, i) => !sweeping[i]).map((p) => p.readUnits))) : null,
    /** The busiest proxy: the sweeper, whose scan is the fleet's lapse detection. */
    maxReadUnitsPerProxyPerSecond: round(Math.max(...perProxy.map((p) => p.readUnits))),
    sweepers,
    writesPerServerPerSecond: round(writesPerServerPerSecond, 4),
    convergenceP50Ms: { join: joinP50.total, lapse: lapseP50.total },
    convergenceP99Ms: { join: joinP99.total, lapse: lapseP99.total },
    /**
     * Each convergence's time inside DynamoDB requests on its critical path (the emulator's share) and
     * the rest, waiting for a poll or a sweep to come round (the design's share); quantiles of each.
     */
    convergenceSplitMs: {
      join: { p50: joinP50, p99: joinP99 },
      lapse: { p50: lapseP50, p99: lapseP99 },
    },
    /** How long the emulator took over each kind of request while joins and lapses were measured. */
    emulatorLatencyMs,
    driverMaxLagMs: driverLagMs,
    driverErrors,
  };
}

function maglevRebuild() {
  const ids = Array.from({ length: MAX_TABLE_MEMBERS }, (_, i) => `server-${i}`);
  const weights = ids.map(() => 1);
  const table = new MaglevTable();
  const times: number[] = [];
  for (let i = 0; i < MAGLEV_BUILDS; i++) {
    const started = performance.now();
    table.build(ids, weights);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    servers: MAX_TABLE_MEMBERS,
    tableSize: table.size,
    p50: round(percentile(times, 0.5), 2),
    p99: round(percentile(times, 0.99), 2),
  };
}

function monthly() {
  const fleet = { proxies: 100, servers: 1000, shards: 1000, replicas: 3 };
  const usd = (reads: number, writes: number) => round(dynamoHourlyUsd({ reads, writes }) * HOURS_PER_MONTH, 2);
  const after = controlPlaneUnitsPerSecond(fleet);
  const before = scanEveryPollUnitsPerSecond(fleet);
  return {
    monthlyControlPlaneUsd: {
      proxies: fleet.proxies,
      servers: fleet.servers,
      usd: usd(after.reads, 0),
      beforeUsd: usd(before.reads, 0),
    },
    monthlyHeartbeatUsd: {
      servers: fleet.servers,
      usd: usd(0, after.writes),
      beforeUsd: usd(0, before.writes),
      leaseMs: RING_LEASE_MS,
      heartbeatMs: RING_HEARTBEAT_INTERVAL_MS,
      perServerUsd: round(heartbeatMonthlyUsdPerServer(RING_HEARTBEAT_INTERVAL_MS, HOURS_PER_MONTH), 4),
    },
  };
}

async function main(): Promise<void> {
  const emulator = await useEmulator(ROOT);
  try {
    const results = [];
    for (const servers of SERVER_COUNTS) {
      for (const proxies of PROXY_COUNTS) {
        // A row that fails (the emulator falling behind the heartbeats at 1,000 servers on a loaded machine) is
        // reported as such, and the other rows still run.
        results.push(
          await runRow(emulator.endpoint, servers, proxies).catch((err: unknown) => ({
            servers,
            proxies,
            error: err instanceof Error ? err.message : String(err),
          })),
        );
        progress(JSON.stringify(results.at(-1)));
      }
    }
    const report = {
      emulator: emulator.owned ? 'MiniStack (started for this run)' : `AWS_ENDPOINT_URL=${emulator.endpoint}`,
      refreshMs: REFRESH_MS,
      steadyMs: STEADY_MS,
      heartbeatMs: DRIVER_HEARTBEAT_MS,
      leaseMs: DRIVER_LEASE_MS,
      readUnits:
        'computed, not from ConsumedCapacity (MiniStack reports none): GetItem of the version item 1 unit (strong), Scan pages ceil(items × 200 B / 4 KB), halved when eventually consistent',
      note: `lapse convergence is measured with ${LAPSING_LEASE_MS} ms leases, from the lease's expiry; with the real ${RING_LEASE_MS} ms lease a dead server leaves ${RING_LEASE_MS} ms after its last beat plus that time. readUnitsPerProxyPerSecond is the mean over the proxies; the sweeper (one per fleet) also scans the Ring (maxReadUnitsPerProxyPerSecond). convergenceSplitMs splits each convergence into the time inside DynamoDB requests on its critical path (emulator) and the rest (design: waiting for a poll or a sweep, and this process's timers).`,
      results,
      maglevRebuildMs: maglevRebuild(),
      ...monthly(),
    };
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await emulator.stop();
  }
}

await main();
