import { EMPTY_KEY_SPACE, type KeySpace, movedFraction, ownershipOf } from './key-space.js';

/** One server's part of the key space. */
export interface ServerShare {
  readonly id: string;
  /** Fraction of the key space, 0..1; the shares of a table sum to 1. */
  readonly share: number;
}

/** What the last change of the table's member set did. */
export interface MembershipChange {
  /** Epoch ms of the rebuild that applied it. */
  readonly at: number;
  readonly joined: readonly string[];
  readonly left: readonly string[];
  /** Fraction of the key space that changed owner (keys that now go to another server). */
  readonly movedFraction: number;
}

/** How a consistent-hash table splits the key space now, and what moved last. */
export interface HashSpace {
  readonly algorithm: string;
  readonly shares: readonly ServerShare[];
  /** Null until the member set has changed once (the first build counts: every key moved from nobody). */
  readonly lastChange: MembershipChange | null;
}

/**
 * Follows a table's rebuilds for reports. A rebuild is rare (membership,
 * health or a slow-start weight step), so each one costs one pass over the
 * arcs, and a second, merged pass only when the member set changed. Weight
 * changes alone update the shares but are not membership changes.
 */
export class HashSpaceTracker {
  private space: KeySpace | undefined;
  private shares: readonly ServerShare[] = [];
  private lastChange: MembershipChange | null = null;

  constructor(
    private readonly algorithm: string,
    private readonly now: () => number = Date.now,
  ) {}

  rebuilt(space: KeySpace): void {
    const previous = this.space ?? EMPTY_KEY_SPACE;
    this.space = space;
    this.shares = [...ownershipOf(space)].map(([id, share]) => ({ id, share }));
    if (sameIds(previous.ids, space.ids)) return;
    const before = new Set(previous.ids);
    const after = new Set(space.ids);
    this.lastChange = {
      at: this.now(),
      joined: space.ids.filter((id) => !before.has(id)),
      left: previous.ids.filter((id) => !after.has(id)),
      movedFraction: movedFraction(previous, space),
    };
  }

  report(): HashSpace {
    return { algorithm: this.algorithm, shares: this.shares, lastChange: this.lastChange };
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
