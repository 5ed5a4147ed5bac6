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
/** The steady window over which reads and writes are counted. */
const STEADY_MS = argValue('--steady-ms', 10_000);
const JOINS = argValue('--joins', 5);
const LAPSES = argValue('--lapses', 5);
/** Leases that are left to lapse: short, so the bench does not wait the real 15 s. */
const LAPSING_LEASE_MS = 3000;
/** Registration writes in flight at once while the fleet is set up. */
const SETUP_CONCURRENCY = 25;
const CONVERGENCE_TIMEOUT_MS = 20_000;
const MAGLEV_BUILDS = 31;
const silent = pino({ level: process.env.BENCH_LOG ?? 'silent' }, pino.destination(2));

interface RequestCount {
  /** GetItem and Scan requests (pages). */
  requests: number;
  readUnits: number;
  writes: number;
}

/** A client that counts its requests and computes their read units from what they returned. */
function countingDoc(endpoint: string): { doc: DynamoDBDocumentClient; count: RequestCount } {
  const client: DynamoDBClient = emulatorClient(endpoint);
  const count: RequestCount = { requests: 0, readUnits: 0, writes: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { ConsistentRead?: boolean };
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
  /** Listeners waiting for a membership condition. */
  waiters: Set<() => void>;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Resolves at the time `done` holds for every reader. */
function whenAll(readers: readonly Reader[], done: (r: Reader) => boolean): Promise<number> {
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
      resolve(Date.now());
    }
    for (const r of readers) r.waiters.add(check);
    check();
  });
}

async function runRow(endpoint: string, servers: number, proxies: number) {
  const suffix = randomBytes(4).toString('hex');
  const names: TableNames = {
    ring: `rm-bench-cp-ring-${suffix}`,
    shards: `rm-bench-cp-shards-${suffix}`,
    map: `rm-bench-cp-map-${suffix}`,
    records: `rm-bench-cp-records-${suffix}`,
  };
  const admin = emulatorClient(endpoint);
  await createTables(admin, names);
  const driver = countingDoc(endpoint);
  const ring = new RingStore(driver.doc, names.ring);
  const ids = Array.from({ length: servers }, (_, i) => `srv-${String(i).padStart(4, '0')}`);
  const address = (id: string) => `http://10.0.${id.slice(-4, -2)}.${Number(id.slice(-2))}:8080`;
  await inBatches(ids, SETUP_CONCURRENCY, (id) => ring.heartbeat(id, address(id), 1, RING_LEASE_MS));

  // The driver: every lease renewed once per RING_HEARTBEAT_INTERVAL_MS, spread evenly over it.
  let driving = true;
  let driverLagMs = 0;
  let driverErrors = 0;
  const drive = (async () => {
    const tick = 100;
    const perTick = (servers * tick) / RING_HEARTBEAT_INTERVAL_MS;
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
          ring.heartbeat(id, address(id), 1, RING_LEASE_MS).catch(() => {
            driverErrors++;
          }),
        ),
      );
      const spent = Date.now() - started;
      driverLagMs = Math.max(driverLagMs, spent - tick);
      await sleep(Math.max(0, tick - spent));
    }
  })();

  const readers: Reader[] = [];
  for (let p = 0; p < proxies; p++) {
    const { doc, count } = countingDoc(endpoint);
    const reader: Reader = {
      membership: new DynamoMembership(new RingStore(doc, names.ring), REFRESH_MS, silent),
      count,
      ids: new Set(),
      waiters: new Set(),
    };
    await reader.membership.start((members: readonly Member[]) => {
      reader.ids = new Set(members.map((m) => m.id));
      for (const w of [...reader.waiters]) w();
    });
    readers.push(reader);
  }
  progress(`${servers} servers × ${proxies} proxies: fleet registered, readers started`);
  await whenAll(readers, (r) => r.ids.size === servers);
  progress('readers converged on the fleet; steady window');
  await sleep(2 * REFRESH_MS);

  // Steady state.
  const before = readers.map((r) => ({ ...r.count }));
  const writesBefore = driver.count.writes;
  const steadyStart = Date.now();
  await sleep(STEADY_MS);
  const seconds = (Date.now() - steadyStart) / 1000;
  const perProxy = readers.map((r, i) => ({
    requests: (r.count.requests - (before[i] as RequestCount).requests) / seconds,
    readUnits: (r.count.readUnits - (before[i] as RequestCount).readUnits) / seconds,
  }));
  const writesPerServerPerSecond = (driver.count.writes - writesBefore) / seconds / servers;

  progress('joins');
  // Joins: from the write of a new lease to every proxy routing with it.
  const join: number[] = [];
  for (let j = 0; j < JOINS; j++) {
    const id = `join-${j}`;
    const startedAt = Date.now();
    const converged = whenAll(readers, (r) => r.ids.has(id));
    await ring.heartbeat(id, 'http://10.1.0.1:8080', 1, RING_LEASE_MS);
    join.push((await converged) - startedAt);
    await sleep(300 + Math.random() * 700);
  }
  progress('lapses');
  // Lapses: from a lease's expiry to every proxy having dropped it.
  const lapse: number[] = [];
  for (let l = 0; l < LAPSES; l++) {
    const id = `lapse-${l}`;
    await ring.heartbeat(id, 'http://10.2.0.1:8080', 1, LAPSING_LEASE_MS);
    const expiresAt = Date.now() + LAPSING_LEASE_MS;
    await whenAll(readers, (r) => r.ids.has(id));
    const gone = await whenAll(readers, (r) => !r.ids.has(id));
    lapse.push(Math.max(0, gone - expiresAt));
  }

  const sweeping = readers.map((r) => r.membership.isSweeper());
  const sweepers = sweeping.filter(Boolean).length;
  driving = false;
  await drive;
  await Promise.all(readers.map((r) => r.membership.stop()));
  await Promise.all(
    Object.values(names).map((TableName) => admin.send(new DeleteTableCommand({ TableName })).catch(() => {})),
  );
  join.sort((a, b) => a - b);
  lapse.sort((a, b) => a - b);
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
    convergenceP50Ms: { join: percentile(join, 0.5), lapse: percentile(lapse, 0.5) },
    convergenceP99Ms: { join: percentile(join, 0.99), lapse: percentile(lapse, 0.99) },
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
        results.push(await runRow(emulator.endpoint, servers, proxies));
        progress(JSON.stringify(results.at(-1)));
      }
    }
    const report = {
      emulator: emulator.owned ? 'MiniStack (started for this run)' : `AWS_ENDPOINT_URL=${emulator.endpoint}`,
      refreshMs: REFRESH_MS,
      steadyMs: STEADY_MS,
      heartbeatMs: RING_HEARTBEAT_INTERVAL_MS,
      leaseMs: RING_LEASE_MS,
      readUnits:
        'computed, not from ConsumedCapacity (MiniStack reports none): GetItem of the version item 1 unit (strong), Scan pages ceil(items × 200 B / 4 KB), halved when eventually consistent',
      note: `lapse convergence is measured with ${LAPSING_LEASE_MS} ms leases, from the lease's expiry; with the real ${RING_LEASE_MS} ms lease a dead server leaves ${RING_LEASE_MS} ms after its last beat plus that time. readUnitsPerProxyPerSecond is the mean over the proxies; the sweeper (one per fleet) also scans the Ring each poll (maxReadUnitsPerProxyPerSecond).`,
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
