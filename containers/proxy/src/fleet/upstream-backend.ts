import type { Pool } from 'undici';
import { Backend } from '#core/balancing/backend.js';
import type { MemberStatus } from '#core/ports/membership.js';
import { LatencyHistogram } from '../telemetry/latency-histogram.js';

/**
 * A backend as the proxy holds it: the balancing view plus its connection
 * pool, membership status, health and counters. The fleet owns every write
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
  readonly statusClassCounts = new Float64Array(6);
  /** Time from sending a request to the end of its response. */
  readonly latency = new LatencyHistogram();

  constructor(
    id: string,
    address: string,
    weight: number,
    public pool: Pool,
  ) {
    super(id, address, weight);
  }

  isEjected(nowMs: number): boolean {
    return this.ejectedUntil > nowMs;
  }
}
