import type { Backend } from './backend.js';
import type { FastRandom } from './random.js';

/**
 * Shared "power of two choices" step: draw two distinct available backends at
 * random and keep the one with the lower cost. Falls back to a full scan when
 * random draws keep hitting unavailable ones, so a mostly-ejected fleet still
 * finds its last healthy server.
 */
export function pickTwoChoices(
  backends: readonly Backend[],
  random: FastRandom,
  exclude: Backend | undefined,
  cost: (b: Backend) => number,
): Backend | undefined {
  const n = backends.length;
  if (n === 0) return undefined;
  let first: Backend | undefined;
  let second: Backend | undefined;
  for (let draw = 0; draw < 8 && second === undefined; draw++) {
    const b = backends[random.below(n)] as Backend;
    if (!b.available || b === exclude || b === first) continue;
    if (first === undefined) first = b;
    else second = b;
  }
  if (first !== undefined && second !== undefined) return cost(second) < cost(first) ? second : first;
  // Few candidates: scan them all.
  let best: Backend | undefined;
  let bestCost = Number.POSITIVE_INFINITY;
  for (const b of backends) {
    if (!b.available || b === exclude) continue;
    const c = cost(b);
    if (best === undefined || c < bestCost) {
      best = b;
      bestCost = c;
    }
  }
  return best ?? (exclude?.available ? exclude : undefined);
}
