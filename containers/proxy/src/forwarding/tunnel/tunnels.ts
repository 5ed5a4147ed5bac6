import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Demand } from '#core/balancing/backend.js';
import type { Fleet } from '../../fleet/fleet.js';
import type { UpstreamBackend } from '../../fleet/upstream-backend.js';
import type { ClientTunnelEnd } from '../client-side.js';
import { Tunnel, type TunnelHost } from './tunnel.js';

export interface TunnelLimits {
  /** Tunnels open at once; a new one past it is refused with 503 and Retry-After. */
  readonly max: number;
  /** No byte either way for this long closes a tunnel. */
  readonly idleTimeoutMs: number;
  /** On /rm of a server, or shutdown, its tunnels get this long before they are closed. */
  readonly drainMs: number;
}

/** Counters for /status, Prometheus and CloudWatch. */
export interface TunnelCounts {
  readonly open: number;
  readonly opened: number;
  /** Upgrades refused because MAX_TUNNELS were open (or reserved). */
  readonly refusedFull: number;
  readonly closedIdle: number;
  readonly closedByDrain: number;
}

/**
 * Every open tunnel of this proxy, and the limits on them: how many may be
 * open (counting handshakes under way, so a burst cannot overshoot), how
 * long one may idle, and how long one to a leaving server (or on shutdown)
 * may stay open. Per-server counts live on the backend, where /status reads
 * them.
 */
export class Tunnels implements TunnelHost {
  private readonly open = new Set<Tunnel>();
  /** Handshakes admitted and not yet answered: they hold a place under `max`. */
  private reserved = 0;
  opened = 0;
  refusedFull = 0;
  closedIdle = 0;
  closedByDrain = 0;
  private readonly drainTimers = new Set<NodeJS.Timeout>();
  private allClosedWaiters: (() => void)[] = [];

  constructor(
    readonly limits: TunnelLimits,
    private readonly fleet: Fleet,
    private readonly log: Logger,
  ) {}

  get idleTimeoutMs(): number {
    return this.limits.idleTimeoutMs;
  }

  get count(): number {
    return this.open.size;
  }

  counts(): TunnelCounts {
    return {
      open: this.open.size,
      opened: this.opened,
      refusedFull: this.refusedFull,
      closedIdle: this.closedIdle,
      closedByDrain: this.closedByDrain,
    };
  }

  /** Holds a place for a handshake; false (and counted) when the limit is reached. */
  reserve(): boolean {
    if (this.open.size + this.reserved >= this.limits.max) {
      this.refusedFull++;
      return false;
    }
    this.reserved++;
    return true;
  }

  /** A handshake that held a place ended without a tunnel (any answer but 101, a failure, the client left). */
  unreserve(): void {
    this.reserved--;
  }

  /** The server said 101: joins the two sides under the reserved place. The attempt stays in flight until it ends. */
  start(
    backend: UpstreamBackend,
    demand: Demand,
    handshakeMs: number,
    client: ClientTunnelEnd,
    upstream: Socket,
    upstreamHead: Buffer,
  ): void {
    this.reserved--;
    const tunnel = new Tunnel(this, backend, demand, handshakeMs, client.socket, upstream);
    this.open.add(tunnel);
    this.opened++;
    backend.openTunnels++;
    tunnel.start(client.head, upstreamHead);
  }

  tunnelEnded(tunnel: Tunnel): void {
    if (!this.open.delete(tunnel)) return;
    const b = tunnel.backend;
    b.openTunnels--;
    if (tunnel.closedBy === 'idle') this.closedIdle++;
    else if (tunnel.closedBy === 'drain') this.closedByDrain++;
    // The status and latency recorded are the handshake's: a tunnel's lifetime is no response time.
    this.fleet.endAttempt(b, tunnel.demand, 101, tunnel.handshakeMs);
    if (this.open.size === 0 && this.allClosedWaiters.length > 0) {
      for (const resolve of this.allClosedWaiters.splice(0)) resolve();
    }
  }

  /** `b` is leaving (/rm, or gone from membership): its open tunnels close once the drain deadline passes. */
  drainServer(b: UpstreamBackend): void {
    if (b.openTunnels === 0) return;
    this.log.info({ server: b.id, tunnels: b.openTunnels, deadlineMs: this.limits.drainMs }, 'draining tunnels');
    this.after(this.limits.drainMs, () => {
      for (const t of this.open) if (t.backend === b) t.close('drain');
    });
  }

  /** Shutdown: every tunnel closes by the drain deadline; resolves once none is open. */
  drainAll(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    this.log.info({ tunnels: this.open.size, deadlineMs: this.limits.drainMs }, 'draining tunnels for shutdown');
    this.after(this.limits.drainMs, () => this.closeAll());
    return new Promise((resolve) => this.allClosedWaiters.push(resolve));
  }

  closeAll(): void {
    for (const t of [...this.open]) t.close('drain');
  }

  /** Stops the drain timers (shutdown's end). */
  stop(): void {
    for (const timer of this.drainTimers) clearTimeout(timer);
    this.drainTimers.clear();
  }

  private after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.drainTimers.delete(timer);
      run();
    }, ms).unref();
    this.drainTimers.add(timer);
  }
}
