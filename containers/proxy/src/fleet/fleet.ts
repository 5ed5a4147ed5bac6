import type { Logger } from 'pino';
import { type Demand, type FleetLoad, NO_DEMAND } from '#core/balancing/backend.js';
import type { Strategy } from '#core/balancing/strategy.js';
import type { Member } from '#core/ports/membership.js';
import { byId } from '#core/util/by-id.js';
import { increment, statusClassIndex } from '../telemetry/metrics.js';
import { type BackendConnections, UpstreamBackend } from './upstream-backend.js';

/** How often slow-start weights are stepped while any server is ramping. */
const SLOW_START_STEP_MS = 1000;
/** Weights move in steps of this fraction, so tables are rebuilt at most ten times per ramp. */
const WEIGHT_QUANTUM = 0.1;

export interface FleetOptions {
  readonly slowStartMs: number;
  readonly slowStartInitialWeight: number;
  readonly panicThreshold: number;
  readonly ejectConsecutiveFailures: number;
  readonly ejectBaseMs: number;
  readonly ejectMaxMs: number;
  readonly drainTimeoutMs: number;
}

/**
 * The set of backends the proxy routes to. It merges membership, active
 * health and passive ejection into each backend's `available` flag, decides
 * panic mode, ramps new servers' weights, and rebuilds the strategy's tables
 * whenever any of that changes — so the per-request path only reads flags.
 */
export class Fleet {
  private readonly backends = new Map<string, UpstreamBackend>();
  private seenFirstMembership = false;
  private slowStartTimer: NodeJS.Timeout | undefined;
  private readonly ejectionTimers = new Map<string, NodeJS.Timeout>();
  private readonly drainWaiters = new Set<{ backend: UpstreamBackend; resolve: () => void }>();
  panic = false;
  ejectionsTotal = 0;
  /** Told when a server starts draining or leaves membership (its open tunnels get a deadline). */
  onServerLeaving: ((b: UpstreamBackend) => void) | undefined;

  constructor(
    readonly strategy: Strategy,
    /** Shared with the strategy (bounded load reads the total in flight). */
    readonly load: FleetLoad,
    private readonly options: FleetOptions,
    private readonly connect: (address: string) => BackendConnections,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.backends.size;
  }

  list(): UpstreamBackend[] {
    return [...this.backends.values()].sort(byId);
  }

  get(id: string): UpstreamBackend | undefined {
    return this.backends.get(id);
  }

  /** Applies a full membership snapshot: adds, updates, drains and retires backends. */
  applyMembership(members: readonly Member[]): void {
    const now = this.now();
    const seen = new Set<string>();
    for (const m of members) {
      seen.add(m.id);
      let b = this.backends.get(m.id);
      if (b && b.address !== m.address) {
        // Same id at a new address: a restarted server. Treat as new.
        this.retire(b);
        b = undefined;
      }
      if (!b) {
        b = new UpstreamBackend(m.id, m.address, m.weight, this.connect(m.address));
        b.joinedAt = now;
        b.slowStart = this.seenFirstMembership && this.options.slowStartMs > 0;
        this.backends.set(m.id, b);
        this.log.info({ server: m.id, address: m.address, slowStart: b.slowStart }, 'server joined');
      }
      if (b.weight !== m.weight) b.weight = m.weight;
      if (b.status !== m.status) {
        b.status = m.status;
        if (m.status === 'draining') {
          this.log.info({ server: m.id, inflight: b.inflight }, 'server draining');
          this.onServerLeaving?.(b);
        }
      }
    }
    for (const b of this.backends.values()) {
      if (!seen.has(b.id)) {
        this.log.info({ server: b.id }, 'server left');
        this.retire(b);
      }
    }
    this.seenFirstMembership = true;
    this.refresh();
  }

  /**
   * A request attempt starts on `b`. This and `endAttempt` are the hot path's
   * only writes to a backend: plain field updates, no allocation.
   */
  beginAttempt(b: UpstreamBackend, demand: Demand): void {
    b.inflight++;
    b.requests++;
    this.load.inflight++;
    if (demand !== NO_DEMAND) {
      b.pendingCpu += demand.cpu;
      b.pendingStorage += demand.storage;
    }
  }

  /**
   * Response headers from `b` arrived `latencyMs` after the attempt was sent:
   * feeds latency-aware strategies and passive outlier detection.
   */
  recordResponse(b: UpstreamBackend, statusCode: number, latencyMs: number, nowMs: number): void {
    this.strategy.observeLatency?.(b, latencyMs, nowMs);
    if (statusCode >= 500) this.recordFailure(b);
    else if (b.consecutiveFailures !== 0) this.recordSuccess(b);
  }

  /** An attempt on `b` ended; `status` 0 when no response arrived. Wakes drain waiters when `b` is idle. */
  endAttempt(b: UpstreamBackend, demand: Demand, status: number, elapsedMs: number): void {
    b.inflight--;
    this.load.inflight--;
    if (demand !== NO_DEMAND) {
      b.pendingCpu -= demand.cpu;
      b.pendingStorage -= demand.storage;
    }
    if (status !== 0) {
      increment(b.statusClassCounts, statusClassIndex(status));
      b.latency.observe(elapsedMs);
    }
    if (b.inflight === 0 && this.drainWaiters.size !== 0) this.wakeDrainWaiters(b);
  }

  /** A connect error, reset or timeout on `b` (never a response). */
  recordUpstreamError(b: UpstreamBackend): void {
    b.upstreamErrors++;
    this.recordFailure(b);
  }

  /** Records an active health-check result. */
  reportHealth(b: UpstreamBackend, ok: boolean, unhealthyThreshold: number, healthyThreshold: number): void {
    if (ok) {
      b.healthFailures = 0;
      b.healthSuccesses++;
      if (!b.healthy && b.healthSuccesses >= healthyThreshold) {
        b.healthy = true;
        this.log.info({ server: b.id }, 'server healthy again');
        this.refresh();
      }
    } else {
      b.healthSuccesses = 0;
      b.healthFailures++;
      if (b.healthy && b.healthFailures >= unhealthyThreshold) {
        b.healthy = false;
        this.log.warn({ server: b.id, failures: b.healthFailures }, 'server failed health checks');
        this.refresh();
      }
    }
  }

  /** Passive outlier detection: a request to `b` failed (connect error, reset, timeout or 5xx). */
  recordFailure(b: UpstreamBackend): void {
    b.consecutiveFailures++;
    if (b.consecutiveFailures >= this.options.ejectConsecutiveFailures && !b.isEjected(this.now())) this.eject(b);
  }

  recordSuccess(b: UpstreamBackend): void {
    b.consecutiveFailures = 0;
  }

  /** Resolves when `b` has no requests in flight from this proxy, or the drain timeout passes. */
  waitDrained(b: UpstreamBackend): Promise<void> {
    if (b.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { backend: b, resolve: () => {} };
      const timer = setTimeout(() => {
        this.drainWaiters.delete(waiter);
        this.log.warn({ server: b.id, inflight: b.inflight }, 'drain timed out');
        resolve();
      }, this.options.drainTimeoutMs).unref();
      waiter.resolve = () => {
        clearTimeout(timer);
        this.drainWaiters.delete(waiter);
        resolve();
      };
      this.drainWaiters.add(waiter);
    });
  }

  private wakeDrainWaiters(b: UpstreamBackend): void {
    for (const w of this.drainWaiters) if (w.backend === b) w.resolve();
  }

  async close(): Promise<void> {
    clearInterval(this.slowStartTimer);
    for (const t of this.ejectionTimers.values()) clearTimeout(t);
    await Promise.all([...this.backends.values()].map((b) => b.closeConnections().catch(() => {})));
    this.backends.clear();
  }

  private eject(b: UpstreamBackend): void {
    const now = this.now();
    // Ejections long ago do not count against a server that has since behaved.
    if (now - b.lastEjectedAt > this.options.ejectMaxMs) b.ejections = 0;
    b.ejections++;
    b.lastEjectedAt = now;
    const duration = Math.min(this.options.ejectBaseMs * b.ejections, this.options.ejectMaxMs);
    b.ejectedUntil = now + duration;
    this.ejectionsTotal++;
    this.log.warn({ server: b.id, durationMs: duration, failures: b.consecutiveFailures }, 'server ejected');
    clearTimeout(this.ejectionTimers.get(b.id));
    this.ejectionTimers.set(
      b.id,
      setTimeout(() => {
        this.ejectionTimers.delete(b.id);
        b.consecutiveFailures = 0;
        this.log.info({ server: b.id }, 'ejection ended');
        this.refresh();
      }, duration).unref(),
    );
    this.refresh();
  }

  private retire(b: UpstreamBackend): void {
    this.backends.delete(b.id);
    b.available = false;
    this.onServerLeaving?.(b);
    clearTimeout(this.ejectionTimers.get(b.id));
    this.ejectionTimers.delete(b.id);
    // Requests already on the wire finish; the pool closes after them.
    b.closeConnections().catch((err: unknown) => this.log.warn({ server: b.id, err }, 'closing pool failed'));
  }

  /** Recomputes weights, availability and panic mode, then rebuilds the strategy. */
  private refresh(): void {
    const now = this.now();
    let ramping = false;
    const active: UpstreamBackend[] = [];
    let healthy = 0;
    for (const b of this.backends.values()) {
      b.effectiveWeight = b.weight * this.rampFactor(b, now);
      if (b.effectiveWeight < b.weight) ramping = true;
      if (b.status !== 'active') continue;
      active.push(b);
      if (b.healthy && !b.isEjected(now)) healthy++;
    }
    const panic = active.length > 0 && healthy < this.options.panicThreshold * active.length;
    if (panic !== this.panic) {
      this.panic = panic;
      this.log.warn(
        { healthy, members: active.length },
        panic ? 'panic mode: routing to every member' : 'panic mode over',
      );
    }
    for (const b of this.backends.values()) {
      b.available = b.status === 'active' && (panic || (b.healthy && !b.isEjected(now)));
    }
    this.strategy.rebuild(active);
    this.scheduleSlowStart(ramping);
  }

  private rampFactor(b: UpstreamBackend, now: number): number {
    if (!b.slowStart) return 1;
    const progress = (now - b.joinedAt) / this.options.slowStartMs;
    if (progress >= 1) {
      b.slowStart = false;
      return 1;
    }
    const initial = this.options.slowStartInitialWeight;
    const raw = initial + (1 - initial) * progress;
    return Math.max(initial, Math.floor(raw / WEIGHT_QUANTUM) * WEIGHT_QUANTUM);
  }

  private scheduleSlowStart(ramping: boolean): void {
    if (ramping && !this.slowStartTimer) {
      this.slowStartTimer = setInterval(() => this.stepSlowStart(), SLOW_START_STEP_MS).unref();
    } else if (!ramping && this.slowStartTimer) {
      clearInterval(this.slowStartTimer);
      this.slowStartTimer = undefined;
    }
  }

  private stepSlowStart(): void {
    const now = this.now();
    let changed = false;
    for (const b of this.backends.values()) {
      if (b.slowStart && b.weight * this.rampFactor(b, now) !== b.effectiveWeight) changed = true;
    }
    if (changed) this.refresh();
  }
}
