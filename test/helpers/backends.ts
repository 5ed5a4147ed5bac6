import { Backend, FleetLoad } from '#core/balancing/backend.js';
import { createStrategy, type StrategyName } from '#core/balancing/strategies.js';
import type { Strategy } from '#core/balancing/strategy.js';

export function makeBackends(ids: readonly string[], weight = 1): Backend[] {
  return ids.map((id) => new Backend(id, `http://127.0.0.1/${id}`, weight));
}

export function built(name: StrategyName, backends: readonly Backend[], load = new FleetLoad()): Strategy {
  const strategy = createStrategy(name, load);
  strategy.rebuild(backends);
  return strategy;
}

/** Routes `keys` and returns the chosen id for each. */
export function route(strategy: Strategy, keys: readonly string[]): string[] {
  return keys.map((k) => strategy.pick(strategy.keyHash(k), { cpu: 0, storage: 0 }, undefined)?.id ?? '-');
}

export function counts(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

export function maxOverMean(counted: Map<string, number>, servers: number): number {
  const values = [...counted.values()];
  const total = values.reduce((a, b) => a + b, 0);
  return Math.max(...values) / (total / servers);
}

export const keysFrom = (n: number, prefix = 'key-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
