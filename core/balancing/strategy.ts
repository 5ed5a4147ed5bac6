import type { Backend, Demand } from './backend.js';
import type { HashSpace } from './hash-space.js';

/**
 * One balancing algorithm. `rebuild` runs when membership, health or weights
 * change (rare); `pick` runs once per request attempt (hot), so it must not
 * allocate. Implementations skip backends whose `available` is false.
 *
 * A strategy declares what it needs from a request, so the proxy computes
 * only that: the routing key (`usesKey`), the declared resource demand
 * (`usesDemand`), and response latencies (`observeLatency`, when present).
 */
export interface Strategy {
  readonly name: string;
  /** True when the strategy routes by the request key (consistent hashing). */
  readonly usesKey: boolean;
  /** True when the strategy weighs the demand a request declares (DRF). */
  readonly usesDemand: boolean;
  /** Candidates in a stable order (sorted by id); draining servers are excluded by the caller. */
  rebuild(backends: readonly Backend[]): void;
  /** Maps a routing key to the 32-bit value that `pick` takes. */
  keyHash(key: string): number;
  /**
   * Chooses a backend, never `exclude` (the one a retry just failed on) unless
   * it is the only choice left. Returns undefined when nothing is available.
   */
  pick(keyHash: number, demand: Demand, exclude: Backend | undefined): Backend | undefined;
  /** Called after a response's headers arrive, by strategies that learn from latency. */
  observeLatency?(backend: Backend, latencyMs: number, nowMs: number): void;
  /** Consistent-hash strategies only: how the table splits the key space, for reports. */
  hashSpace?(): HashSpace;
}
