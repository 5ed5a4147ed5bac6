import { MaglevTable } from '#core/balancing/maglev-table.js';

/** A small prime table: a shard has a handful of replicas. */
const SHARD_TABLE_SIZE = 251;

/**
 * A shard's own consistent-hash ring over its replicas (Maglev, as the proxy
 * uses for servers): the same read key goes to the same replica, where its
 * work and any cache stay warm, and replicas that cannot serve are skipped
 * without moving anyone else's keys.
 */
export class ShardReadRing {
  private readonly table = new MaglevTable(SHARD_TABLE_SIZE);
  private readonly ids: string[];

  constructor(replicaIds: readonly string[]) {
    this.ids = [...replicaIds].sort();
    this.table.build(
      this.ids,
      this.ids.map(() => 1),
    );
  }

  /** Replica ids in the order to try for `key`: the ring's choice first, then the rest. */
  order(key: string, usable: (id: string) => boolean): string[] {
    if (this.ids.length === 0) return [];
    const out: string[] = [];
    let slot = this.table.slotFor(this.table.keyHash(key));
    for (let step = 0; step < this.table.size && out.length < this.ids.length; step++) {
      const id = this.ids[this.table.ownerAt(slot)] as string;
      if (!out.includes(id)) out.push(id);
      slot = this.table.nextSlot(slot);
    }
    return [...out.filter(usable), ...out.filter((id) => !usable(id))];
  }
}
