import { FleetLoad } from './backend.js';
import { DrfStrategy } from './drf.js';
import { DEFAULT_BOUND_FACTOR, HashingStrategy } from './hashing-strategy.js';
import { LeastConnectionsStrategy } from './least-connections.js';
import { LeastTimeStrategy } from './least-time.js';
import { LegacyTable } from './legacy-table.js';
import { DEFAULT_MAGLEV_TABLE_SIZE, MaglevTable } from './maglev-table.js';
import { PowerOfTwoStrategy } from './power-of-two.js';
import { DEFAULT_POINTS_PER_WEIGHT, RingTable } from './ring-table.js';
import type { Strategy } from './strategy.js';
import { WeightedRoundRobinStrategy } from './weighted-round-robin.js';

export const STRATEGY_NAMES = [
  'maglev',
  'maglev-bounded',
  'ring',
  'ring-bounded',
  'legacy',
  'legacy-bounded',
  'weighted-round-robin',
  'least-connections',
  'power-of-two',
  'least-time',
  'drf',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** The consistent-hashing strategies: a key's server follows from membership alone. */
export const HASHING_STRATEGIES: ReadonlySet<StrategyName> = new Set([
  'maglev',
  'maglev-bounded',
  'ring',
  'ring-bounded',
  'legacy',
  'legacy-bounded',
]);

/** How long a new server's weight ramps up where slow start helps. */
export const DEFAULT_SLOW_START_MS = 30_000;

/**
 * Slow start where it helps, off where it hurts. Under consistent hashing a
 * ramping weight hands a newcomer a fraction of its keys and moves them
 * again at every step (keys move twice, caches warm twice, and the fleet is
 * unbalanced for the whole ramp); Envoy applies slow start only to round
 * robin and least request, and HAProxy and nginx leave it off by default.
 * The load-aware strategies do benefit: they would otherwise pile requests
 * on an empty, cold server.
 */
export function defaultSlowStartMs(name: StrategyName): number {
  return HASHING_STRATEGIES.has(name) ? 0 : DEFAULT_SLOW_START_MS;
}

/** Chosen from `npm run bench:ring`: Maglev balances best at equal lookup cost. */
export const DEFAULT_STRATEGY: StrategyName = 'maglev-bounded';

export interface StrategyOptions {
  /** c for the -bounded variants. @default 1.25 */
  readonly boundFactor?: number;
  /** @default 65537 */
  readonly maglevTableSize?: number;
  /** @default 160 */
  readonly ringPointsPerWeight?: number;
}

export function createStrategy(
  name: StrategyName,
  load: FleetLoad = new FleetLoad(),
  options: StrategyOptions = {},
): Strategy {
  const bound = name.endsWith('-bounded') ? (options.boundFactor ?? DEFAULT_BOUND_FACTOR) : 0;
  switch (name) {
    case 'maglev':
    case 'maglev-bounded':
      return new HashingStrategy(new MaglevTable(options.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE), load, bound);
    case 'ring':
    case 'ring-bounded':
      return new HashingStrategy(new RingTable(options.ringPointsPerWeight ?? DEFAULT_POINTS_PER_WEIGHT), load, bound);
    case 'legacy':
    case 'legacy-bounded':
      return new HashingStrategy(new LegacyTable(), load, bound);
    case 'weighted-round-robin':
      return new WeightedRoundRobinStrategy();
    case 'least-connections':
      return new LeastConnectionsStrategy();
    case 'power-of-two':
      return new PowerOfTwoStrategy();
    case 'least-time':
      return new LeastTimeStrategy();
    case 'drf':
      return new DrfStrategy();
  }
}
