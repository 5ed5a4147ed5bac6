import { sortedById } from '../util/by-id.js';
import type { Backend, Demand } from './backend.js';
import type { Strategy } from './strategy.js';

/**
 * nginx's smooth weighted round robin: every pick adds each backend's weight
 * to its running score, takes the highest, and subtracts the total from it.
 * Weights 5,1,1 give a a b a c a a rather than a a a a a b c.
 */
export class WeightedRoundRobinStrategy implements Strategy {
  readonly name = 'weighted-round-robin';
  readonly usesKey = false;
  readonly usesDemand = false;
  private backends: Backend[] = [];
  private current = new Float64Array(0);

  rebuild(backends: readonly Backend[]): void {
    this.backends = sortedById(backends);
    this.current = new Float64Array(this.backends.length);
  }

  keyHash(): number {
    return 0;
  }

  pick(_keyHash: number, _demand: Demand, exclude: Backend | undefined): Backend | undefined {
    const backends = this.backends;
    const current = this.current;
    let best = -1;
    let total = 0;
    for (let i = 0; i < backends.length; i++) {
      const b = backends[i] as Backend;
      if (!b.available || b === exclude) continue;
      current[i] = (current[i] as number) + b.effectiveWeight;
      total += b.effectiveWeight;
      if (best < 0 || (current[i] as number) > (current[best] as number)) best = i;
    }
    if (best < 0) return exclude?.available ? exclude : undefined;
    current[best] = (current[best] as number) - total;
    return backends[best];
  }
}
