import type { Pool } from 'undici';
import { Backend } from '#core/balancing/backend.js';
import type { MemberStatus } from '#core/ports/membership.js';

/** Index of a status class (1xx..5xx) in `statusClassCounts`; 0 counts proxy-made replies. */
export const statusClassIndex = (status: number): number => (status >= 100 && status < 600 ? (status / 100) | 0 : 0);

/**
 * A backend as the proxy holds it: the balancing view plus its connection
 * pool, membership status, health and counters.
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
  /** Counters for /status and /metrics. */
  requests = 0;
  upstreamErrors = 0;
  readonly statusClassCounts = new Float64Array(6);

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
