import { sortedById } from '../util/by-id.js';
import type { Backend, Demand } from './backend.js';
import { FastRandom } from './random.js';
import type { Strategy } from './strategy.js';
import { pickTwoChoices } from './two-choices.js';

/**
 * Resource-aware placement in the spirit of Dominant Resource Fairness:
 * a server's dominant share is the larger of its cpu and memory use after
 * adding what its in-flight requests declared and what this request
 * declares; the lower share per unit of weight wins, between two random
 * candidates. Servers report cpu and memory through their heartbeat;
 * requests declare `cpu:storage` fractions in a header (storage is charged
 * against memory, the resource a server holds request state in).
 */
export class DrfStrategy implements Strategy {
  readonly name = 'drf';
  readonly usesKey = false;
  readonly usesDemand = true;
  private backends: Backend[] = [];
  private demand: Demand = { cpu: 0, storage: 0 };
  private readonly dominantShare = (b: Backend): number =>
    Math.max(b.cpu + b.pendingCpu + this.demand.cpu, b.memory + b.pendingStorage + this.demand.storage) /
    b.effectiveWeight;

  constructor(private readonly random = new FastRandom()) {}

  rebuild(backends: readonly Backend[]): void {
    this.backends = sortedById(backends);
  }

  keyHash(): number {
    return 0;
  }

  pick(_keyHash: number, demand: Demand, exclude: Backend | undefined): Backend | undefined {
    this.demand = demand;
    return pickTwoChoices(this.backends, this.random, exclude, this.dominantShare);
  }
}
