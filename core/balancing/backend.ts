/**
 * The proxy's live view of one backend server. Strategies read these fields on
 * the hot path, so they are plain mutable numbers and booleans kept current by
 * the fleet (membership, health, ejection) rather than computed per request.
 */
export class Backend {
  /** Stable id chosen by the server (the hostname that /add and /rm take). */
  readonly id: string;
  /** Origin the proxy dials, e.g. `http://127.0.0.1:9001`. */
  address: string;
  /** Configured capacity weight (1 = one ordinary server). */
  weight: number;
  /** Weight after slow start; strategies use this one. */
  effectiveWeight: number;
  /** Requests sent and not yet finished. */
  inflight = 0;
  /**
   * True when the strategy may pick it: healthy, not ejected, not draining —
   * or, in panic mode, any member that is not draining.
   */
  available = true;
  /** Peak-EWMA of time to response headers, in milliseconds; NaN until the first sample. */
  latencyEwmaMs = Number.NaN;
  /** performance.now() of the last EWMA update, for time decay. */
  latencyStampMs = 0;
  /** Last reported utilisation, 0..1 (from the server's heartbeat). */
  cpu = 0;
  memory = 0;
  /** Sum of declared demands of requests in flight (DRF strategy). */
  pendingCpu = 0;
  pendingStorage = 0;

  constructor(id: string, address: string, weight = 1) {
    this.id = id;
    this.address = address;
    this.weight = weight;
    this.effectiveWeight = weight;
  }
}

/** Resource demand a request declares (DRF strategy), as fractions of one server. */
export interface Demand {
  readonly cpu: number;
  readonly storage: number;
}

export const NO_DEMAND: Demand = Object.freeze({ cpu: 0, storage: 0 });

/** Totals the strategies need across the whole fleet, kept by the fleet. */
export class FleetLoad {
  /** Requests in flight over all backends. */
  inflight = 0;
}
