/**
 * A hash table's key space as consecutive arcs, for reports (never for
 * lookups). Positions are fractions of the table's own key space, [0, 1):
 * arc i covers [ends[i - 1], ends[i]) (the first starts at 0, the last ends
 * at 1) and belongs to ids[owners[i]]. Two builds of the same table share
 * these coordinates, so they can be compared arc by arc. An empty table has
 * no arcs.
 */
export interface KeySpace {
  readonly ids: readonly string[];
  readonly ends: Float64Array;
  readonly owners: Int32Array;
}

export const EMPTY_KEY_SPACE: KeySpace = Object.freeze({
  ids: [],
  ends: new Float64Array(0),
  owners: new Int32Array(0),
});

/** Fraction of the key space each id owns; every id is present (0 when it owns nothing). Sums to 1 unless empty. */
export function ownershipOf(space: KeySpace): Map<string, number> {
  const byIndex = new Float64Array(space.ids.length);
  let start = 0;
  for (let i = 0; i < space.ends.length; i++) {
    const end = space.ends[i] as number;
    const owner = space.owners[i] as number;
    byIndex[owner] = (byIndex[owner] as number) + (end - start);
    start = end;
  }
  return new Map(space.ids.map((id, i) => [id, byIndex[i] as number]));
}

/**
 * Fraction of the key space whose owner differs between two builds: the
 * share of keys that moved to another server. From or to an empty table,
 * every key moved (1), unless both are empty (0).
 */
export function movedFraction(before: KeySpace, after: KeySpace): number {
  const a = before.ends.length;
  const b = after.ends.length;
  if (a === 0 || b === 0) return a === b ? 0 : 1;
  // Owners compared by index: before's index translated to after's (-1 if it left).
  const afterIndex = new Map(after.ids.map((id, i) => [id, i]));
  const translate = Int32Array.from(before.ids, (id) => afterIndex.get(id) ?? -1);
  let i = 0;
  let j = 0;
  let position = 0;
  let moved = 0;
  while (i < a && j < b) {
    const endA = before.ends[i] as number;
    const endB = after.ends[j] as number;
    const end = Math.min(endA, endB);
    if (translate[before.owners[i] as number] !== after.owners[j]) moved += end - position;
    position = end;
    if (endA === end) i++;
    if (endB === end) j++;
  }
  return moved;
}
