/**
 * Water-filling: the level L at which Σ weight × min(demand, L) uses exactly
 * `capacity`. Every slice of time whose demand is above L gets L, every other
 * one its whole demand, so no slice is cut deeper than another.
 */

/** Infinity when the whole demand fits; 0 when there is nothing to share. */
export function waterLevel(weights: ArrayLike<number>, demands: ArrayLike<number>, capacity: number): number {
  if (!(capacity > 0)) return 0;
  const order = Array.from({ length: demands.length }, (_, i) => i).sort(
    (a, b) => (demands[a] ?? 0) - (demands[b] ?? 0),
  );
  let weightAbove = 0;
  for (let i = 0; i < weights.length; i++) weightAbove += Math.max(0, weights[i] ?? 0);
  let filled = 0;
  for (const i of order) {
    const demand = Math.max(0, demands[i] ?? 0);
    const weight = Math.max(0, weights[i] ?? 0);
    // With the level at this demand, every slice from here up takes `demand`.
    if (filled + demand * weightAbove >= capacity) return weightAbove > 0 ? (capacity - filled) / weightAbove : 0;
    filled += demand * weight;
    weightAbove -= weight;
  }
  return Number.POSITIVE_INFINITY;
}

/** What the slices use at level L. */
export function filledAt(weights: ArrayLike<number>, demands: ArrayLike<number>, level: number): number {
  let total = 0;
  for (let i = 0; i < demands.length; i++)
    total += Math.max(0, weights[i] ?? 0) * Math.min(Math.max(0, demands[i] ?? 0), level);
  return total;
}
