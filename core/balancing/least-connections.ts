import { sortedById } from '../util/by-id.js';
import type { Backend, Demand } from './backend.js';
import type { Strategy } from './strategy.js';

/**
 * Least connections weighted by capacity: the backend with the fewest
 * in-flight requests per unit of weight. The scan starts one place further
 * each time so that ties rotate instead of always landing on the first id.
 */
export class LeastConnectionsStrategy implements Strategy {
  readonly name = 'least-connections';
  readonly usesKey = false;
  readonly usesDemand = false;
  private backends: Backend[] = [];
  private cursor = 0;

  rebuild(backends: readonly Backend[]): void {
    this.backends = sortedById(backends);
    this.cursor = 0;
  }

  keyHash(): number {
    return 0;
  }

  pick(_keyHash: number, _demand: Demand, exclude: Backend | undefined): Backend | undefined {
    const backends = this.backends;
    const n = backends.length;
    if (n === 0) return undefined;
    this.cursor = this.cursor + 1 >= n ? 0 : this.cursor + 1;
    let best: Backend | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      const i = this.cursor + k < n ? this.cursor + k : this.cursor + k - n;
      const b = backends[i] as Backend;
      if (!b.available || b === exclude) continue;
      const score = (b.inflight + 1) / b.effectiveWeight;
      if (score < bestScore) {
        best = b;
        bestScore = score;
      }
    }
    return best ?? (exclude?.available ? exclude : undefined);
  }
}
