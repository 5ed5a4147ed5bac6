/**
 * `performance.now()` for the hot path, without its global lookup: Node
 * defines `globalThis.performance` as an accessor, so every
 * `performance.now()` also calls that getter (about 1% of the proxy's CPU
 * per request under load, docs/benchmarks.md "CPU per request").
 */
const perf = performance;

/** Milliseconds since the process started, as performance.now(). */
export function nowMs(): number {
  return perf.now();
}
