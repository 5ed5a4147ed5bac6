/**
 * DynamoDB on-demand prices and the units the control plane spends. Since
 * the membership version (docs/control-plane.md): every proxy reads one
 * small item a second, one proxy (the sweeper) scans the Ring every 10 s,
 * every proxy re-reads the shard tables every 10 minutes and the Ring every
 * hour, and every server writes its
 * lease every 5 s. Before it, every proxy scanned Ring, ShardT and MapT
 * once a second, and loaded ShardT/MapT a second time for the shard manager.
 */

/** us-east-1 on-demand list prices (since November 2024), dollars per million request units. */
export interface DynamoOnDemandRates {
  readonly readRequestUnitUsdPerMillion: number;
  readonly writeRequestUnitUsdPerMillion: number;
}

export const DEFAULT_DYNAMODB_RATES: DynamoOnDemandRates = Object.freeze({
  readRequestUnitUsdPerMillion: 0.125,
  writeRequestUnitUsdPerMillion: 0.625,
});

/** A strongly consistent read spends one unit per 4 KB; a Scan rounds the sum of the items it read (per page). */
const READ_UNIT_BYTES = 4096;
/** A write spends one unit per 1 KB of item. */
const WRITE_UNIT_BYTES = 1024;

/** Read units of one strongly consistent Scan page over `bytes` of items (at least one unit). */
export function scanReadUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
}

/** Write units of one write of an item of `bytes`. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/**
 * Approximate stored item sizes (attribute names count too), from the
 * shapes in core/membership/ring-store.ts and core/records/cluster-store.ts.
 */
export const ITEM_BYTES = {
  /** id, address, weight, status, lastHeartbeatMs, leaseExpiresAtMs, expiresAt. */
  ring: 200,
  /** Shard_id, Stud_id_low, Shard_size, valid_idx, placement_version. */
  shard: 100,
  /** The reserved #config item: N, the schema, the replica count. */
  shardConfig: 500,
  /** The Ring's #version item: ring, cluster, sweeper, sweeperUntilMs. */
  version: 100,
  /** Shard_id, Server_id, primary. */
  map: 60,
} as const;

/** What the proxies and servers do to the tables, per second. */
export interface ControlPlaneLoad {
  readonly proxies: number;
  readonly servers: number;
  readonly shards: number;
  readonly replicas: number;
  /** RING_REFRESH_MS: how often each proxy polls. @default 1000 */
  readonly refreshMs?: number;
  /** The proxies' full re-read of ShardT and MapT (DEFAULT_FULL_READ_MS). @default 600000 */
  readonly fullReadMs?: number;
  /** The proxies' last-resort full read of the Ring (DEFAULT_RING_FULL_READ_MS). @default 3600000 */
  readonly ringFullReadMs?: number;
  /** Servers' heartbeat interval on the Ring (RING_HEARTBEAT_INTERVAL_MS). @default 5000 */
  readonly heartbeatMs?: number;
  /**
   * How often the sweeper scans the Ring: when the earliest lease expiry it saw comes, about the lease
   * minus the heartbeat (15 s − 5 s), and at least every DEFAULT_MAX_SWEEP_INTERVAL_MS (10 s).
   * @default 10000
   */
  readonly sweepIntervalMs?: number;
}

/** The heartbeat interval the servers used before it was chosen for cost, for `before` figures. */
export const BEFORE_HEARTBEAT_MS = 2000;

/** Read units of one full read: the Ring scan, the #config GetItem, the ShardT and MapT scans. */
function fullReadUnits(load: ControlPlaneLoad): { ring: number; cluster: number } {
  return {
    ring: scanReadUnits(load.servers * ITEM_BYTES.ring + ITEM_BYTES.version),
    cluster:
      1 +
      scanReadUnits(load.shards * ITEM_BYTES.shard + ITEM_BYTES.shardConfig) +
      scanReadUnits(load.shards * load.replicas * ITEM_BYTES.map),
  };
}

function heartbeatWrites(load: ControlPlaneLoad, heartbeatMs: number): number {
  return load.servers * (1000 / heartbeatMs) * writeUnits(ITEM_BYTES.ring);
}

/**
 * Read and write units per second the control plane spends with the
 * membership version: each proxy one strongly consistent GetItem of the
 * version item per poll (one unit, whatever the fleet), the sweeper one
 * eventually consistent Ring scan per sweep (half units), and every proxy a
 * full read of the shard tables every `fullReadMs` and of the Ring every
 * `ringFullReadMs`. Change
 * batches add a full read per proxy each; at tens a minute they are small
 * beside the rest and not counted.
 */
export function controlPlaneUnitsPerSecond(load: ControlPlaneLoad): { reads: number; writes: number } {
  const pollsPerSecond = 1000 / (load.refreshMs ?? 1000);
  const full = fullReadUnits(load);
  const clusterReadsPerSecond = 1000 / (load.fullReadMs ?? 600_000);
  const ringReadsPerSecond = 1000 / (load.ringFullReadMs ?? 3_600_000);
  return {
    reads:
      load.proxies * pollsPerSecond * scanReadUnits(ITEM_BYTES.version) +
      // The sweep: one eventually consistent Ring scan per sweep interval, for the whole fleet.
      (1000 / (load.sweepIntervalMs ?? 10_000)) * (full.ring / 2) +
      load.proxies * (ringReadsPerSecond * full.ring + clusterReadsPerSecond * full.cluster),
    writes: heartbeatWrites(load, load.heartbeatMs ?? 5000),
  };
}

/**
 * What the code did before the membership version, for comparison: every
 * proxy scanned the Ring and loaded ShardT/MapT each poll, and its shard
 * manager loaded ShardT/MapT a second time; servers beat every 2 s.
 */
export function scanEveryPollUnitsPerSecond(load: ControlPlaneLoad): { reads: number; writes: number } {
  const pollsPerSecond = 1000 / (load.refreshMs ?? 1000);
  const full = fullReadUnits(load);
  return {
    reads: load.proxies * pollsPerSecond * (full.ring + 2 * full.cluster),
    writes: heartbeatWrites(load, load.heartbeatMs ?? BEFORE_HEARTBEAT_MS),
  };
}

/** Dollars per month of one server's heartbeats at `heartbeatMs`. */
export function heartbeatMonthlyUsdPerServer(
  heartbeatMs: number,
  hoursPerMonth: number,
  rates: DynamoOnDemandRates = DEFAULT_DYNAMODB_RATES,
): number {
  return (
    ((hoursPerMonth * 3600 * 1000) / heartbeatMs) *
    writeUnits(ITEM_BYTES.ring) *
    (rates.writeRequestUnitUsdPerMillion / 1e6)
  );
}

/** Dollars per hour for a steady rate of request units. */
export function dynamoHourlyUsd(
  unitsPerSecond: { reads: number; writes: number },
  rates: DynamoOnDemandRates = DEFAULT_DYNAMODB_RATES,
): number {
  return (
    (unitsPerSecond.reads * 3600 * rates.readRequestUnitUsdPerMillion) / 1e6 +
    (unitsPerSecond.writes * 3600 * rates.writeRequestUnitUsdPerMillion) / 1e6
  );
}
