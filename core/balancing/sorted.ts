import type { Backend } from './backend.js';

/** Backends in id order, so every replica builds identical tables from the same membership. */
export function sortedById(backends: readonly Backend[]): Backend[] {
  return [...backends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
