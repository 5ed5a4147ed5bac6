/**
 * DynamoDB on-demand prices and the read units the control plane spends:
 * every proxy scans Ring, ShardT and MapT (strongly consistent) once a
 * second, and every server writes its lease every two seconds.
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

/** A strongly consistent read spends one unit per 4 KB; a Scan rounds the sum of the items it read. */
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
  /** Shard_id, Server_id, primary. */
  map: 60,
} as const;

/** What the proxies and servers do to the tables, per second. */
export interface ControlPlaneLoad {
  readonly proxies: number;
  readonly servers: number;
  readonly shards: number;
  readonly replicas: number;
  /** RING_REFRESH_MS (the Ring scan and the ShardT/MapT refresh). @default 1000 */
  readonly refreshMs?: number;
  /** Servers' HEARTBEAT_INTERVAL_MS. @default 2000 */
  readonly heartbeatMs?: number;
}

/** Read and write units per second the control plane spends. */
export function controlPlaneUnitsPerSecond(load: ControlPlaneLoad): { reads: number; writes: number } {
  const refreshesPerSecond = 1000 / (load.refreshMs ?? 1000);
  const perRefresh =
    scanReadUnits(load.servers * ITEM_BYTES.ring) +
    // The #config GetItem, then ShardT and MapT scans.
    1 +
    scanReadUnits(load.shards * ITEM_BYTES.shard + ITEM_BYTES.shardConfig) +
    scanReadUnits(load.shards * load.replicas * ITEM_BYTES.map);
  const heartbeatsPerSecond = load.servers * (1000 / (load.heartbeatMs ?? 2000));
  return {
    reads: load.proxies * refreshesPerSecond * perRefresh,
    writes: heartbeatsPerSecond * writeUnits(ITEM_BYTES.ring),
  };
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
