/** Code-unit order of two ids, the order every replica computes identically (no locale). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders anything with an id by that id. */
export function byId(a: { readonly id: string }, b: { readonly id: string }): number {
  return compareIds(a.id, b.id);
}

/** Items in id order, so every replica builds identical tables from the same membership. */
export function sortedById<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort(byId);
}
