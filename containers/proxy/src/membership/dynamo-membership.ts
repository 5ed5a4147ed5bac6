import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ControlVersions } from '#core/aws/control-version.js';
import { type RingItem, RingStore } from '#core/aws/ring-store.js';
import type { Member, MembershipControl, MembershipSource, MembershipStats } from '#core/ports/membership.js';
import { BackoffPoller } from './backoff-poller.js';

/**
 * The slow safety net of the shard tables (ClusterCache): a full read at
 * least this often, whatever the version says, so a bump lost to a writer
 * crashing between its write and its bump still converges. Ten minutes
 * keeps it a small part of the reads at 100 proxies × 1,000 servers
 * (docs/control-plane.md's cost table).
 */
export const DEFAULT_FULL_READ_MS = 600_000;
/**
 * The Ring's last-resort full read. A bump lost there is caught sooner by
 * the sweeper, which bumps whenever the members it scans changed since its
 * previous sweep (within a sweep, about 10 s); this read covers a fleet with
 * no sweeper, at a cost that stays small as the Ring grows.
 */
export const DEFAULT_RING_FULL_READ_MS = 3_600_000;
/**
 * The sweep reads eventually consistent (half the units); a stale item can
 * only show an older lease expiry, so the window looks back this much
 * further than the previous sweep (a lapse seen twice costs a spare bump).
 */
const SWEEP_STALENESS_MARGIN_MS = 2000;
/**
 * How long one proxy holds the lease-sweeper role per claim; it renews at
 * half-time. If the sweeper dies, lapses go unnoticed (still routed around
 * by health checks and ejection) until another proxy takes the role, at most
 * this long, or until each proxy's full read.
 */
export const DEFAULT_SWEEPER_ROLE_MS = 15_000;
/**
 * The sweeper scans when the earliest lease expiry it knows of has passed,
 * and at least this often whatever it knows: that bounds how late it sees a
 * lapse it could not foresee (a lease whose registration it has not read
 * yet, or one renewed with a shorter lease). With the servers' 5 s beats and
 * 15 s leases the earliest expiry is about 10 s ahead after each scan anyway.
 */
export const DEFAULT_MAX_SWEEP_INTERVAL_MS = 10_000;
/** A scheduled sweep starts this long after the expiry it waits for: timers and clocks are not exact. */
const SWEEP_AFTER_EXPIRY_MS = 50;

export interface MembershipTiming {
  /** @default DEFAULT_RING_FULL_READ_MS */
  readonly fullReadMs?: number;
  /** @default DEFAULT_SWEEPER_ROLE_MS */
  readonly sweeperRoleMs?: number;
  /** @default DEFAULT_MAX_SWEEP_INTERVAL_MS */
  readonly maxSweepIntervalMs?: number;
}

/** Counters of what this proxy read, for benchmarks and the admin snapshot. */
export interface MembershipReads {
  readonly versionReads: number;
  readonly scans: number;
  readonly sweeps: number;
  /** Sweeps that found the members changed with no version bump since the previous sweep (a writer lost its bump). */
  readonly unannouncedChanges: number;
}

/**
 * Membership from the DynamoDB Ring table. Every `refreshMs` the proxy reads
 * one small item, the membership version (ControlVersionStore), and scans
 * the Ring only when the version moved, when it won the fleet's lease sweep,
 * or when its last full read is older than `fullReadMs`. A proxy's steady
 * reads are therefore one GetItem a second, whatever the fleet's size.
 *
 * Every change with a writer bumps the version after writing (RingStore). A
 * lease lapse has no writer, and a proxy cannot expire leases from its own
 * copy (renewals do not bump the version, so its copy's expiry times are
 * old). So one proxy of the fleet holds the sweeper role (a conditional
 * write on the version item, renewed at half of `sweeperRoleMs`): it scans
 * the Ring and, when a lease lapsed since its previous scan, bumps the
 * version; the others then re-read. A lease's expiry only moves forward,
 * so none can lapse before the earliest expiry the sweeper last saw: it
 * scans then (by a timer, not at the next poll), or after
 * `maxSweepIntervalMs`, rather than every poll. The sweep's cost is the
 * fleet's, one scan per lease-minus-heartbeat (about 10 s), not each proxy's.
 *
 * Every proxy reads the same items and so builds the same tables. A failed
 * or throttled read changes nothing: the proxy keeps routing with the last
 * membership it read (leases are not expired against stale data), counts
 * the error, and retries with back-off.
 */
export class DynamoMembership implements MembershipSource, MembershipControl {
  private onChange: ((members: readonly Member[]) => void) | undefined;
  private fingerprint = '';
  private readonly poller: BackoffPoller;
  private readonly fullReadMs: number;
  private readonly sweeperRoleMs: number;
  private readonly maxSweepIntervalMs: number;
  /** This proxy's name in the sweeper role. */
  private readonly me = randomUUID();
  /** Until when this proxy holds the sweeper role, by its own clock (0: it does not). */
  private sweeperUntil = 0;
  /** Lapses this sweeper has bumped for (id to lease expiry): the overlapping windows must not bump twice. */
  private readonly bumpedLapses = new Map<string, number>();
  /** When this proxy's previous sweep read the Ring (0: it has not swept yet). */
  private lastSweepAt = 0;
  /** The live members the previous sweep found, and the ring version read with them ('' / -1: none yet). */
  private sweptMembers = '';
  private sweptRingVersion = -1;
  /** The sweeper's next scan: the earliest lease expiry it knows of after its last sweep, or the longest interval. */
  private nextSweepAt = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** The latest lease expiry the sweeper has seen for each member (a stale read cannot move one back). */
  private readonly expiries = new Map<string, number>();
  private reading = false;
  /** The ring version the last full read is known to include; -1 forces a read. */
  private ringVersion = -1;
  private lastFullReadAt = 0;
  private versionsRead: ControlVersions | undefined;
  /** The poll under way, which stop() waits for: it may be renewing the sweeper role. */
  private inFlight: Promise<void> = Promise.resolve();
  private counts = { versionReads: 0, scans: 0, sweeps: 0, unannouncedChanges: 0 };

  constructor(
    private readonly ring: RingStore,
    refreshMs: number,
    log: Logger,
    private readonly now: () => number = Date.now,
    timing: MembershipTiming = {},
  ) {
    this.fullReadMs = timing.fullReadMs ?? DEFAULT_RING_FULL_READ_MS;
    this.sweeperRoleMs = timing.sweeperRoleMs ?? DEFAULT_SWEEPER_ROLE_MS;
    this.maxSweepIntervalMs = timing.maxSweepIntervalMs ?? DEFAULT_MAX_SWEEP_INTERVAL_MS;
    this.poller = new BackoffPoller(
      () => {
        this.reading = true;
        this.inFlight = this.read().finally(() => {
          this.reading = false;
        });
        return this.inFlight;
      },
      refreshMs,
      'the ring table',
      log,
      now,
    );
  }

  async start(onChange: (members: readonly Member[]) => void): Promise<void> {
    this.onChange = onChange;
    await this.poller.pollNow();
  }

  async stop(): Promise<void> {
    this.poller.stop();
    clearTimeout(this.sweepTimer);
    this.onChange = undefined;
    await this.inFlight.catch(() => {});
    if (this.sweeperUntil > 0) {
      this.sweeperUntil = 0;
      // Best effort: if this fails, the role lapses after at most sweeperRoleMs.
      await this.ring.versions.releaseSweeper(this.me).catch(() => {});
    }
  }

  async drain(id: string): Promise<void> {
    await this.ring.drain(id);
    await this.poller.pollNow();
  }

  async remove(id: string): Promise<void> {
    await this.ring.remove(id);
    await this.poller.pollNow();
  }

  async allow(id: string): Promise<void> {
    await this.ring.allow(id);
  }

  stats(): MembershipStats {
    return { errors: this.poller.errors, lastReadAgeMs: this.poller.successAgeMs() };
  }

  /** The control-plane versions as last read (the cluster cache follows `cluster` from here). */
  versions(): ControlVersions | undefined {
    return this.versionsRead;
  }

  reads(): MembershipReads {
    return { ...this.counts };
  }

  private async read(): Promise<void> {
    const now = this.now();
    const fullDue = this.ringVersion === -1 || now - this.lastFullReadAt >= this.fullReadMs;
    let versions: ControlVersions;
    /** A strong scan made after `versions` was read, when this poll has one. */
    let items: RingItem[] | undefined;
    if (now < this.sweeperUntil && now >= this.nextSweepAt) {
      // The sweep's scan goes out with the version read, so that it is the poll's first request.
      const [read, swept] = await Promise.all([this.ring.versions.read(), this.ring.scanEventually()]);
      versions = read;
      this.counts.scans++;
      await this.sweep(swept, versions, now);
    } else if (now < this.sweeperUntil) {
      versions = await this.ring.versions.read();
      await this.renewSweeper(now);
    } else {
      versions = await this.ring.versions.read();
      if (versions.sweeperUntilMs < now && (await this.claimSweeper(now))) {
        // Newly the sweeper: one scan serves the sweep and, when one is due anyway, the full read.
        const strong = fullDue || versions.ring !== this.ringVersion;
        const swept = strong ? await this.ring.scan() : await this.ring.scanEventually();
        this.counts.scans++;
        if (strong) items = swept;
        await this.sweep(swept, versions, now);
      }
    }
    this.counts.versionReads++;
    this.versionsRead = versions;
    if (!items) {
      if (versions.ring === this.ringVersion && !fullDue) return;
      items = await this.ring.scan();
      this.counts.scans++;
    }
    // The scan followed the version read, so it includes every change counted up to `versions.ring`.
    this.ringVersion = versions.ring;
    this.lastFullReadAt = now;
    if (this.sweeperUntil > 0) {
      // A strong read is the whole table: new leases (which may expire before the planned sweep) and no gone ones.
      this.learnExpiries(items, true);
      this.planSweep();
    }
    this.announce(RingStore.liveMembers(items, now));
  }

  /**
   * The sweeper's look for lapsed leases: a lease that lapsed since the
   * previous sweep bumps the version, so that every proxy (this one too)
   * re-reads. So does any change of the live members since the previous
   * sweep: most were bumped by their writers already, and this costs every
   * proxy one more read per sweep that saw changes, but a change whose
   * writer crashed before its bump (or that landed after the proxies' re-read
   * of another bump) then reaches every proxy within a sweep, not at the
   * hourly full read. It also renews the role at half-time and plans the
   * next sweep. `versions` was read with the scan (or just before it).
   */
  private async sweep(items: readonly RingItem[], versions: ControlVersions, now: number): Promise<void> {
    this.counts.sweeps++;
    // A sweeper new to the role looks back a whole role's length: its predecessor may have died mid-way.
    const since = (this.lastSweepAt || now - this.sweeperRoleMs) - SWEEP_STALENESS_MARGIN_MS;
    this.lastSweepAt = now;
    for (const [id, expiry] of this.bumpedLapses) if (expiry <= since) this.bumpedLapses.delete(id);
    const lapsed = items.filter(
      (item) => lapsedBetween(item, since, now) && this.bumpedLapses.get(item.id) !== item.leaseExpiresAtMs,
    );
    const members = JSON.stringify(RingStore.liveMembers(items, now));
    const changed = this.sweptMembers !== '' && members !== this.sweptMembers;
    if (changed && lapsed.length === 0 && versions.ring === this.sweptRingVersion) this.counts.unannouncedChanges++;
    this.sweptMembers = members;
    this.sweptRingVersion = versions.ring;
    if (lapsed.length > 0 || changed) {
      this.sweptRingVersion = await this.ring.versions.bump('ring');
      for (const item of lapsed) this.bumpedLapses.set(item.id, item.leaseExpiresAtMs ?? 0);
      this.ringVersion = -1;
    }
    await this.renewSweeper(now);
    this.learnExpiries(items, false);
    this.planSweep();
  }

  /** Renews the sweeper role at half-time; losing it ends this proxy's sweeps. */
  private async renewSweeper(now: number): Promise<void> {
    if (this.sweeperUntil - now >= this.sweeperRoleMs / 2) return;
    if (await this.claimSweeper(now)) return;
    this.sweeperUntil = 0;
    clearTimeout(this.sweepTimer);
  }

  /** Records the lease expiries in `items`; a whole strong read replaces what was known. */
  private learnExpiries(items: readonly RingItem[], wholeTable: boolean): void {
    if (wholeTable) this.expiries.clear();
    for (const item of items) {
      if (item.removed || !item.address || item.leaseExpiresAtMs === undefined) continue;
      if (item.leaseExpiresAtMs > (this.expiries.get(item.id) ?? 0)) this.expiries.set(item.id, item.leaseExpiresAtMs);
    }
  }

  /**
   * Sets the next sweep to just after the earliest expiry not yet swept (a
   * lease renewed since only makes that sweep find nothing), or the longest
   * interval, and arms a timer for it so a lapse is seen at once, not at the
   * next poll.
   */
  private planSweep(): void {
    if (this.sweeperUntil === 0) return;
    const swept = this.lastSweepAt;
    let next = swept + this.maxSweepIntervalMs;
    for (const [id, expiry] of this.expiries) {
      if (expiry <= swept - SWEEP_STALENESS_MARGIN_MS) this.expiries.delete(id);
      else if (expiry > swept) next = Math.min(next, expiry + SWEEP_AFTER_EXPIRY_MS);
    }
    this.nextSweepAt = next;
    clearTimeout(this.sweepTimer);
    this.sweepTimer = setTimeout(
      () => {
        // A poll under way may already sweep; if not, the next one will. While reads fail, the back-off decides.
        if (!this.reading && !this.poller.failing) void this.poller.pollNow();
      },
      // One millisecond late rather than early: the poll sweeps only once `nextSweepAt` has passed.
      Math.max(0, next - this.now()) + 1,
    ).unref();
  }

  private async claimSweeper(now: number): Promise<boolean> {
    const until = now + this.sweeperRoleMs;
    if (!(await this.ring.versions.claimSweeper(this.me, now, until))) return false;
    if (this.sweeperUntil === 0) {
      this.lastSweepAt = 0;
      this.sweptMembers = '';
    }
    this.sweeperUntil = until;
    return true;
  }

  /** Whether this proxy holds the lease-sweeper role now. */
  isSweeper(): boolean {
    return this.now() < this.sweeperUntil;
  }

  /** Announces the live members when they differ from the last announcement. */
  private announce(members: Member[]): void {
    const fingerprint = JSON.stringify(members);
    if (fingerprint !== this.fingerprint) {
      this.fingerprint = fingerprint;
      this.onChange?.(members);
    }
  }
}

function lapsedBetween(item: RingItem, afterMs: number, upToMs: number): boolean {
  const expiry = item.leaseExpiresAtMs ?? 0;
  return !item.removed && item.address !== undefined && expiry > afterMs && expiry <= upToMs;
}
