/**
 * Water-filling: the level L at which Σ weight × min(demand, L) uses exactly
 * `capacity`. Every slice of time whose demand is above L gets L, every other
 * one its whole demand, so no slice is cut deeper than another.
 */

/** Infinity when the whole demand fits; 0 when there is nothing to share. */
export function waterLevel(weights: ArrayLike<number>, demands: ArrayLike<number>, capacity: number): number {
  if (!(capacity > 0)) return 0;
  if (filledAt(weights, demands, Number.POSITIVE_INFINITY) <= capacity) return Number.POSITIVE_INFINITY;
  // filledAt is increasing and piecewise linear in the level, with corners at the demands:
  // find the two neighbouring demands that bracket `capacity`, then solve the line between them.
  const corners = new Float64Array(demands.length);
  for (let i = 0; i < demands.length; i++) corners[i] = Math.max(0, demands[i] ?? 0);
  corners.sort();
  let low = -1;
  let high = corners.length - 1;
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (filledAt(weights, demands, corners[mid] ?? 0) >= capacity) high = mid;
    else low = mid;
  }
  const below = low >= 0 ? (corners[low] ?? 0) : 0;
  let fixed = 0;
  let slope = 0;
  for (let i = 0; i < demands.length; i++) {
    const demand = Math.max(0, demands[i] ?? 0);
    const weight = Math.max(0, weights[i] ?? 0);
    if (demand <= below) fixed += weight * demand;
    else slope += weight;
  }
  return slope > 0 ? below + (capacity - fixed - below * slope) / slope : below;
}

/** What the slices use at level L. */
export function filledAt(weights: ArrayLike<number>, demands: ArrayLike<number>, level: number): number {
  let total = 0;
  for (let i = 0; i < demands.length; i++)
    total += Math.max(0, weights[i] ?? 0) * Math.min(Math.max(0, demands[i] ?? 0), level);
  return total;
}
