import { sortedById } from '../util/by-id.js';
import type { Backend, Demand } from './backend.js';
import { FastRandom } from './random.js';
import type { Strategy } from './strategy.js';
import { pickTwoChoices } from './two-choices.js';

/** Finagle's default decay window for peak EWMA. */
export const DEFAULT_LATENCY_DECAY_MS = 10_000;

/**
 * Least time: peak-EWMA latency × (in-flight + 1) per unit of weight, picked
 * with two random choices (Finagle / Linkerd). A slower sample replaces the
 * average at once (peak); faster ones pull it down with weight exp(-Δt/τ).
 *
 * Starvation guard: the cost decays toward zero with the time since the last
 * sample, so a backend that had one slow response and then stopped being
 * picked becomes attractive again within a few τ, gets probed, and is judged
 * on a fresh sample rather than starved forever on an old one.
 */
export class LeastTimeStrategy implements Strategy {
  readonly name = 'least-time';
  readonly usesKey = false;
  readonly usesDemand = false;
  private backends: Backend[] = [];
  private nowMs = 0;
  private readonly costAtNow = (b: Backend): number => {
    if (Number.isNaN(b.latencyEwmaMs)) return 0;
    const decay = Math.exp(-(this.nowMs - b.latencyStampMs) / this.decayMs);
    return (b.latencyEwmaMs * decay * (b.inflight + 1)) / b.effectiveWeight;
  };

  constructor(
    private readonly decayMs = DEFAULT_LATENCY_DECAY_MS,
    private readonly random = new FastRandom(),
    private readonly clock: () => number = performance.now.bind(performance),
  ) {}

  rebuild(backends: readonly Backend[]): void {
    this.backends = sortedById(backends);
  }

  keyHash(): number {
    return 0;
  }

  pick(_keyHash: number, _demand: Demand, exclude: Backend | undefined): Backend | undefined {
    this.nowMs = this.clock();
    return pickTwoChoices(this.backends, this.random, exclude, this.costAtNow);
  }

  observeLatency(b: Backend, latencyMs: number, nowMs: number): void {
    const previous = b.latencyEwmaMs;
    if (Number.isNaN(previous) || latencyMs > previous) {
      b.latencyEwmaMs = latencyMs;
    } else {
      const w = Math.exp(-(nowMs - b.latencyStampMs) / this.decayMs);
      b.latencyEwmaMs = previous * w + latencyMs * (1 - w);
    }
    b.latencyStampMs = nowMs;
  }
}
