import type { HashSpace } from '#core/balancing/hash-space.js';
import type { MemberStatus, MembershipSource, MembershipStats } from '#core/ports/membership.js';
import type { Fleet } from '../fleet/fleet.js';
import type { UpstreamBackend } from '../fleet/upstream-backend.js';
import type { RetryBudget } from '../forwarding/retry-budget.js';
import type { TunnelCounts } from '../forwarding/tunnel/tunnels.js';
import type { AutoscalerStatus } from './autoscaler-status.js';
import { type HistogramSnapshot, quantileMs } from './latency-histogram.js';
import type { ProxyMetrics } from './metrics.js';
import type { ShardPlacement } from './shard-placement.js';

/** Static facts every rendering repeats. */
export interface ProxyInfo {
  readonly strategy: string;
  readonly hashKey: string;
  readonly membership: string;
  readonly scaler: string;
}

/** Responses by status class. `proxy` counts requests that ended with no status (the client left first). */
export interface ResponseCounts {
  readonly proxy: number;
  readonly '1xx': number;
  readonly '2xx': number;
  readonly '3xx': number;
  readonly '4xx': number;
  readonly '5xx': number;
}

export interface ServerSnapshot {
  readonly id: string;
  readonly address: string;
  readonly status: MemberStatus;
  readonly weight: number;
  /** Weight after slow start; below `weight` while the server ramps up. */
  readonly effectiveWeight: number;
  readonly slowStart: boolean;
  readonly available: boolean;
  readonly healthy: boolean;
  readonly ejectedForMs: number;
  readonly ejections: number;
  /** Requests in flight to it (open tunnels not included: see openTunnels). */
  readonly inflight: number;
  /** Tunnels open to it from this proxy; routing counts them as load together with `inflight`. */
  readonly openTunnels: number;
  readonly requests: number;
  readonly upstreamErrors: number;
  readonly responses: ResponseCounts;
  readonly latencyEwmaMs: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly latency: HistogramSnapshot;
  readonly load: { readonly cpu: number; readonly memory: number };
}

export interface ProxySnapshot {
  /** Epoch ms when the snapshot was taken. */
  readonly takenAt: number;
  readonly info: ProxyInfo;
  readonly panic: boolean;
  readonly membership: MembershipStats;
  readonly ring: { readonly algorithm: string; readonly members: number; readonly healthy: number };
  readonly servers: readonly ServerSnapshot[];
  /** This process's memory, for soak runs and operators watching for leaks. */
  readonly process: { readonly rssBytes: number; readonly heapUsedBytes: number; readonly heapTotalBytes: number };
  /** Tunnels (WebSocket and other upgrades) through this proxy. */
  readonly tunnels: TunnelCounts;
  readonly totals: {
    readonly requests: number;
    /** Requests in flight (open tunnels are counted in `tunnels.open`). */
    readonly inflight: number;
    readonly responses: ResponseCounts;
    readonly retries: number;
    readonly retryBudgetExhausted: number;
    readonly clientAborts: number;
    readonly noHealthyServer: number;
    readonly bodyTooLarge: number;
    readonly ejections: number;
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
    readonly latency: HistogramSnapshot;
  };
  /** How the consistent-hash table splits the key space; absent for the other strategies. */
  readonly hashSpace?: HashSpace;
  /** Shard placement; absent when the records API is off, empty until /init. */
  readonly shards?: readonly ShardPlacement[];
  /** Absent until an autoscaler reports to the proxy. */
  readonly autoscaler?: AutoscalerStatus;
}

/** What a snapshot is taken from: the hot path's counters and the fleet, read when asked. */
export interface SnapshotSources {
  readonly fleet: Fleet;
  readonly metrics: ProxyMetrics;
  readonly retryBudget: RetryBudget;
  readonly membership: MembershipSource;
  readonly info: ProxyInfo;
  /** What the extensions add (the records API: its shard placement). */
  readonly extensions?: readonly (() => Pick<ProxySnapshot, 'shards'>)[];
  /** The autoscaler's last report, when one is wired in. */
  readonly autoscaler?: () => AutoscalerStatus | undefined;
  /** The proxy's tunnels, when it carries them. */
  readonly tunnels?: () => TunnelCounts;
}

const NO_TUNNELS: TunnelCounts = { open: 0, opened: 0, refusedFull: 0, closedIdle: 0, closedByDrain: 0 };

/**
 * The proxy's state in one typed value. /status, Prometheus /metrics, the
 * CloudWatch publisher and the live page all render this, so they cannot
 * disagree; the hot path only increments counters, and the walk over the
 * fleet happens here, when someone asks.
 */
export function takeSnapshot(sources: SnapshotSources, now = Date.now()): ProxySnapshot {
  const { fleet, metrics, retryBudget } = sources;
  const servers = fleet.list().map((b) => serverSnapshot(b, now));
  const healthy = servers.filter((s) => s.status === 'active' && s.healthy && s.ejectedForMs === 0).length;
  const latency = metrics.latency.snapshot();
  const hashSpace = fleet.strategy.hashSpace?.();
  const autoscaler = sources.autoscaler?.();
  const tunnels = sources.tunnels?.() ?? NO_TUNNELS;
  return {
    takenAt: now,
    info: sources.info,
    panic: fleet.panic,
    membership: sources.membership.stats(),
    ring: {
      algorithm: fleet.strategy.name,
      members: servers.filter((s) => s.status === 'active').length,
      healthy,
    },
    servers,
    process: processMemory(),
    tunnels,
    totals: {
      requests: metrics.requests,
      inflight: fleet.load.inflight - tunnels.open,
      responses: responseCounts(metrics.statusClassCounts),
      retries: metrics.retries,
      retryBudgetExhausted: retryBudget.exhausted,
      clientAborts: metrics.clientAborts,
      noHealthyServer: metrics.noHealthyServer,
      bodyTooLarge: metrics.bodyTooLarge,
      ejections: fleet.ejectionsTotal,
      p50Ms: quantileMs(latency, 0.5),
      p99Ms: quantileMs(latency, 0.99),
      latency,
    },
    ...(hashSpace ? { hashSpace } : {}),
    ...Object.assign({}, ...(sources.extensions ?? []).map((part) => part())),
    ...(autoscaler ? { autoscaler } : {}),
  };
}

function processMemory(): ProxySnapshot['process'] {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal };
}

function serverSnapshot(b: UpstreamBackend, now: number): ServerSnapshot {
  const latency = b.latency.snapshot();
  return {
    id: b.id,
    address: b.address,
    status: b.status,
    weight: b.weight,
    effectiveWeight: b.effectiveWeight,
    slowStart: b.effectiveWeight < b.weight,
    available: b.available,
    healthy: b.healthy,
    ejectedForMs: b.isEjected(now) ? b.ejectedUntil - now : 0,
    ejections: b.ejections,
    inflight: b.inflight - b.openTunnels,
    openTunnels: b.openTunnels,
    requests: b.requests,
    upstreamErrors: b.upstreamErrors,
    responses: responseCounts(b.statusClassCounts),
    latencyEwmaMs: Number.isNaN(b.latencyEwmaMs) ? null : b.latencyEwmaMs,
    p50Ms: quantileMs(latency, 0.5),
    p99Ms: quantileMs(latency, 0.99),
    latency,
    load: { cpu: b.cpu, memory: b.memory },
  };
}

function responseCounts(byClass: Float64Array): ResponseCounts {
  const at = (i: number) => byClass[i] as number;
  return { proxy: at(0), '1xx': at(1), '2xx': at(2), '3xx': at(3), '4xx': at(4), '5xx': at(5) };
}
