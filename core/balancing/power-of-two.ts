import { sortedById } from '../util/by-id.js';
import type { Backend, Demand } from './backend.js';
import { FastRandom } from './random.js';
import type { Strategy } from './strategy.js';
import { pickTwoChoices } from './two-choices.js';

const inflightPerWeight = (b: Backend): number => (b.inflight + 1) / b.effectiveWeight;

/** Power of two choices on in-flight requests per unit of weight (Mitzenmacher). */
export class PowerOfTwoStrategy implements Strategy {
  readonly name = 'power-of-two';
  readonly usesKey = false;
  readonly usesDemand = false;
  private backends: Backend[] = [];

  constructor(private readonly random = new FastRandom()) {}

  rebuild(backends: readonly Backend[]): void {
    this.backends = sortedById(backends);
  }

  keyHash(): number {
    return 0;
  }

  pick(_keyHash: number, _demand: Demand, exclude: Backend | undefined): Backend | undefined {
    return pickTwoChoices(this.backends, this.random, exclude, inflightPerWeight);
  }
}
