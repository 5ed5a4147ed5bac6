import type { Logger } from 'pino';
import { DomainError } from '#core/errors/domain-error.js';
import type { MembershipControl } from '#core/ports/membership.js';
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
 * raise the scaler's desired count and wait for the new servers to register,
 * or drain servers (no new requests, in-flight ones finish) before the
 * scaler stops exactly those.
 */
export class FleetActions {
  /** Ids an /add or /rm is working on, so two calls cannot act on one server. */
  private readonly busy = new Set<string>();
  /** Scale operations started since the proxy started (see `changes`). */
  private started = 0;
  /** Scale operations not finished yet. */
  private running = 0;
  /** The last queued read-and-raise of the scaler's count (see `oneAtATime`). */
  private countChange: Promise<void> = Promise.resolve();

  constructor(
    private readonly fleet: Fleet,
    private readonly membership: MembershipControl,
    private readonly scaler: Scaler | undefined,
    private readonly limits: { readonly maxServers: number; readonly registerWaitMs: number },
    private readonly log: Logger,
  ) {}

  /**
   * How many scale operations have started. Something that reads a count
   * elsewhere and then acts (the ECS follower) compares this before and after
   * its read, so it never acts on a count an /add or /rm changed meanwhile.
   */
  get changes(): number {
    return this.started;
  }

  /** True while an /add or /rm is in progress. */
  get changing(): boolean {
    return this.running > 0;
  }

  /** True when /add can create servers under given names (local processes); ECS tasks take their own ids. */
  get namesServers(): boolean {
    return this.scaler?.namesServers ?? false;
  }

  replicas(): ReplicaSet {
    const replicas = this.fleet
      .list()
      .filter((b) => b.status === 'active')
      .map((b) => b.id);
    return { N: replicas.length, replicas };
  }

  add(request: ScaleRequest): Promise<ReplicaSet> {
    return this.tracked(() => this.addServers(request));
  }

  /**
   * `prepare` runs once the servers are chosen and checked and before any is drained (the
   * shard-placing /rm re-places their shards there); if it throws, nothing is removed.
   */
  remove(request: ScaleRequest, prepare?: (ids: readonly string[]) => Promise<void>): Promise<ReplicaSet> {
    return this.tracked(() => this.removeServers(request, prepare));
  }

  /** Runs `step` after every step queued before it has settled. */
  private oneAtATime(step: () => Promise<void>): Promise<void> {
    const run = this.countChange.then(step, step);
    this.countChange = run.catch(() => undefined);
    return run;
  }

  /** Counts the operation from its first, synchronous step, so `changes` moves before any await. */
  private async tracked(operation: () => Promise<ReplicaSet>): Promise<ReplicaSet> {
    this.started++;
    this.running++;
    try {
      return await operation();
    } finally {
      this.running--;
    }
  }

  private async addServers(request: ScaleRequest): Promise<ReplicaSet> {
    const scaler = this.requireScaler();
    if (this.fleet.size + request.n > this.limits.maxServers) {
      throw new DomainError(
        'INVALID_INPUT',
        'n',
        `adding ${request.n} would exceed the ${this.limits.maxServers}-server limit (now ${this.fleet.size})`,
      );
    }
    const named = request.hostnames ?? [];
    if (named.length > 0 && !scaler.namesServers) {
      throw new DomainError(
        'INVALID_INPUT',
        'hostnames',
        `the ${scaler.kind} scaler's servers take their own ids; omit hostnames and give n alone`,
      );
    }
    named.forEach((id, i) => {
      if (this.fleet.get(id) || this.busy.has(id)) {
        throw new DomainError('INVALID_INPUT', `hostnames[${i}]`, `server "${id}" already exists`);
      }
    });
    // Names not given are generated (s1, s2, … skipping ids in use), as the seed's balancers did.
    const ids = scaler.namesServers ? [...named, ...this.freshIds(request.n - named.length, named)] : [];
    for (const id of ids) this.busy.add(id);
    try {
      for (const id of ids) await this.membership.allow(id);
      const known = new Set(this.fleet.list().map((b) => b.id));
      // Read and raise the count as one step: two /adds interleaving here would both raise it
      // from the same count, and the second would be refused for naming more servers than it adds.
      await this.oneAtATime(async () => {
        const { desired } = await scaler.describe();
        await scaler.setDesiredCount(desired + request.n, scaler.namesServers ? ids : undefined);
      });
      await this.waitForRegistration(ids.length > 0 ? ids : request.n, known);
      this.log.info({ servers: ids, n: request.n }, 'servers added');
      return this.replicas();
    } finally {
      for (const id of ids) this.busy.delete(id);
    }
  }

  private async removeServers(
    request: ScaleRequest,
    prepare?: (ids: readonly string[]) => Promise<void>,
  ): Promise<ReplicaSet> {
    const active = this.fleet.list().filter((b) => b.status === 'active' && !this.busy.has(b.id));
    if (request.n > active.length) {
      throw new DomainError('INVALID_INPUT', 'n', `cannot remove ${request.n} of ${active.length} active server(s)`);
    }
    const named = request.hostnames ?? [];
    // Servers not named are chosen by the balancer: the newest first, as they have the least warm state.
    const chosen = active
      .filter((b) => !named.includes(b.id))
      .sort((a, b) => b.joinedAt - a.joinedAt)
      .slice(0, request.n - named.length)
      .map((b) => b.id);
    const ids = [...named, ...chosen];
    named.forEach((id, i) => {
      const b = this.fleet.get(id);
      if (!b) throw new DomainError('INVALID_INPUT', `hostnames[${i}]`, `unknown server "${id}"`);
      if (b.status !== 'active' || this.busy.has(id)) {
        throw new DomainError('INVALID_INPUT', `hostnames[${i}]`, `server "${id}" is already being removed`);
      }
    });
    for (const id of ids) this.busy.add(id);
    try {
      await prepare?.(ids);
      await Promise.all(ids.map((id) => this.membership.drain(id)));
      await Promise.all(
        ids.map((id) => {
          const b = this.fleet.get(id);
          return b ? this.fleet.waitDrained(b) : undefined;
        }),
      );
      for (const id of ids) await this.membership.remove(id);
      if (this.scaler) await this.scaler.removeServers(ids);
      this.log.info({ servers: ids }, 'servers removed');
      return this.replicas();
    } finally {
      for (const id of ids) this.busy.delete(id);
    }
  }

  private requireScaler(): Scaler {
    if (!this.scaler) {
      throw new DomainError(
        'CONFLICT',
        undefined,
        'no scaler is configured (SCALER=none): servers join by registering themselves',
      );
    }
    return this.scaler;
  }

  /** s1, s2, … skipping ids in use and `taken`. */
  private freshIds(n: number, taken: readonly string[]): string[] {
    const ids: string[] = [];
    for (let k = 1; ids.length < n; k++) {
      const id = `s${k}`;
      if (!this.fleet.get(id) && !this.busy.has(id) && !taken.includes(id)) ids.push(id);
    }
    return ids;
  }

  /** Waits for the named servers, or for `count` servers not in `known`, to join the fleet. */
  private async waitForRegistration(expected: readonly string[] | number, known: ReadonlySet<string>): Promise<void> {
    const deadline = Date.now() + this.limits.registerWaitMs;
    for (;;) {
      const missingIds = typeof expected === 'number' ? [] : expected.filter((id) => !this.fleet.get(id));
      const missing =
        typeof expected === 'number'
          ? expected - this.fleet.list().filter((b) => !known.has(b.id)).length
          : missingIds.length;
      if (missing <= 0) return;
      if (Date.now() > deadline) {
        const what = typeof expected === 'number' ? `${missing} of ${expected} new server(s)` : missingIds.join(', ');
        throw new DomainError(
          'TIMEOUT',
          undefined,
          `started ${what} but they did not register within ${this.limits.registerWaitMs} ms`,
        );
      }
      await new Promise((r) => setTimeout(r, REGISTER_POLL_MS));
    }
  }
}
