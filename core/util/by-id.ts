/** Orders anything with an id by that id (code-unit order, as every replica computes it). */
export function byId(a: { readonly id: string }, b: { readonly id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Items in id order, so every replica builds identical tables from the same membership. */
export function sortedById<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort(byId);
}
