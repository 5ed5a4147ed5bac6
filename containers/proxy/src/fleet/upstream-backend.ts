import type { Pool } from 'undici';
import { Backend } from '#core/balancing/backend.js';
import type { MemberStatus } from '#core/ports/membership.js';
import { UndiciUpstream, type Upstream } from '../forwarding/upstream/upstream.js';
import { LatencyHistogram } from '../telemetry/latency-histogram.js';

/** A backend's connections: the hot path's client, and undici's pool for health checks and the records API. */
export interface BackendConnections {
  /** Forwarded requests (UPSTREAM_CLIENT): the llhttp client's pool, or undici's pool behind the same interface. */
  readonly upstream: Upstream;
  /** undici, for health checks and the records API's own calls (the same pool as `upstream` when that is undici). */
  readonly pool: Pool;
}

/**
 * A backend as the proxy holds it: the balancing view plus its connection
 * pools, membership status, health and counters. The fleet owns every write
 * to it (fleet/fleet.ts); the rest of the proxy only reads.
 */
export class UpstreamBackend extends Backend {
  status: MemberStatus = 'active';
  /** Wall-clock ms when it joined; slow start ramps from here. */
  joinedAt = 0;
  /** Whether slow start applies (not for members present at proxy start). */
  slowStart = false;
  /** Active health checks. */
  healthy = true;
  healthFailures = 0;
  healthSuccesses = 0;
  /** Passive ejection. */
  consecutiveFailures = 0;
  ejectedUntil = 0;
  ejections = 0;
  lastEjectedAt = 0;
  /** Counters for the state snapshot. */
  requests = 0;
  upstreamErrors = 0;
  /** Tunnels (WebSocket and other upgrades) open to it from this proxy; each also counts in `inflight`. */
  openTunnels = 0;
  readonly statusClassCounts = new Float64Array(6);
  /** Time from sending a request to the end of its response. */
  readonly latency = new LatencyHistogram();

  readonly upstream: Upstream;
  readonly pool: Pool;

  constructor(id: string, address: string, weight: number, connections: BackendConnections) {
    super(id, address, weight);
    this.upstream = connections.upstream;
    this.pool = connections.pool;
  }

  /** Lets requests on the wire finish, then closes every socket to the backend. */
  async closeConnections(): Promise<void> {
    const shared = this.upstream instanceof UndiciUpstream && this.upstream.pool === this.pool;
    await Promise.all(shared ? [this.upstream.close()] : [this.upstream.close(), this.pool.close()]);
  }

  isEjected(nowMs: number): boolean {
    return this.ejectedUntil > nowMs;
  }
}
