import type { Logger } from 'pino';
import { HttpError } from '#core/http/http-error.js';
import type { MembershipSource } from '#core/ports/membership.js';
import type { Scaler } from '#core/ports/scaler.js';
import type { Fleet } from '../fleet/fleet.js';
import type { ScaleRequest } from './schemas.js';

/** How often /add looks for the new servers' registrations. */
const REGISTER_POLL_MS = 50;

export interface ReplicaSet {
  readonly N: number;
  readonly replicas: readonly string[];
}

/**
 * What /add and /rm do, apart from HTTP: validate against the live fleet,
 * start servers through the scaler and wait for them to register, or drain
 * servers (no new requests, in-flight ones finish) before stopping them.
 */
export class FleetActions {
  /** Ids an /add or /rm is working on, so two calls cannot act on one server. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly fleet: Fleet,
    private readonly membership: MembershipSource,
    private readonly scaler: Scaler | undefined,
    private readonly limits: { readonly maxServers: number; readonly registerWaitMs: number },
    private readonly log: Logger,
  ) {}

  replicas(): ReplicaSet {
    const replicas = this.fleet
      .list()
      .filter((b) => b.status === 'active')
      .map((b) => b.id);
    return { N: replicas.length, replicas };
  }

  async add(request: ScaleRequest): Promise<ReplicaSet> {
    const scaler = this.requireScaler();
    if (this.fleet.size + request.n > this.limits.maxServers) {
      throw new HttpError(
        400,
        'n',
        `adding ${request.n} would exceed the ${this.limits.maxServers}-server limit (now ${this.fleet.size})`,
      );
    }
    const ids = request.hostnames ?? this.freshIds(request.n);
    ids.forEach((id, i) => {
      if (this.fleet.get(id) || this.busy.has(id)) {
        throw new HttpError(400, request.hostnames ? `hostnames[${i}]` : 'n', `server "${id}" already exists`);
      }
    });
    for (const id of ids) this.busy.add(id);
    try {
      for (const id of ids) await this.membership.allow(id);
      await scaler.add(ids);
      await this.waitForRegistration(ids);
      this.log.info({ servers: ids }, 'servers added');
      return this.replicas();
    } finally {
      for (const id of ids) this.busy.delete(id);
    }
  }

  async remove(request: ScaleRequest): Promise<ReplicaSet> {
    const active = this.fleet.list().filter((b) => b.status === 'active' && !this.busy.has(b.id));
    if (request.n > active.length) {
      throw new HttpError(400, 'n', `cannot remove ${request.n} of ${active.length} active server(s)`);
    }
    const ids =
      request.hostnames ??
      active
        .sort((a, b) => b.joinedAt - a.joinedAt)
        .slice(0, request.n)
        .map((b) => b.id);
    ids.forEach((id, i) => {
      const b = this.fleet.get(id);
      if (!b) throw new HttpError(400, `hostnames[${i}]`, `unknown server "${id}"`);
      if (b.status !== 'active' || this.busy.has(id)) {
        throw new HttpError(400, `hostnames[${i}]`, `server "${id}" is already being removed`);
      }
    });
    for (const id of ids) this.busy.add(id);
    try {
      await Promise.all(ids.map((id) => this.membership.drain(id)));
      await Promise.all(
        ids.map((id) => {
          const b = this.fleet.get(id);
          return b ? this.fleet.waitDrained(b) : undefined;
        }),
      );
      for (const id of ids) await this.membership.remove(id);
      if (this.scaler) await this.scaler.remove(ids);
      this.log.info({ servers: ids }, 'servers removed');
      return this.replicas();
    } finally {
      for (const id of ids) this.busy.delete(id);
    }
  }

  private requireScaler(): Scaler {
    if (!this.scaler) {
      throw new HttpError(
        409,
        undefined,
        'no scaler is configured (SCALER=none): servers join by registering themselves',
      );
    }
    return this.scaler;
  }

  /** s1, s2, … skipping ids in use. */
  private freshIds(n: number): string[] {
    const ids: string[] = [];
    for (let k = 1; ids.length < n; k++) {
      const id = `s${k}`;
      if (!this.fleet.get(id) && !this.busy.has(id)) ids.push(id);
    }
    return ids;
  }

  private async waitForRegistration(ids: readonly string[]): Promise<void> {
    const deadline = Date.now() + this.limits.registerWaitMs;
    for (;;) {
      const missing = ids.filter((id) => !this.fleet.get(id));
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        throw new HttpError(
          504,
          undefined,
          `started ${missing.join(', ')} but they did not register within ${this.limits.registerWaitMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, REGISTER_POLL_MS));
    }
  }
}
