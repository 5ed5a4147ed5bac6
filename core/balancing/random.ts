/**
 * xorshift32: a fast, allocation-free source for "two random choices". It
 * needs no cryptographic quality, and a seed makes tests reproducible.
 */
export class FastRandom {
  private state: number;

  constructor(seed = (Math.random() * 0xffffffff) >>> 0 || 1) {
    this.state = seed >>> 0 || 1;
  }

  /** Integer in [0, bound). */
  below(bound: number): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state % bound;
  }
}
