import type { LlhttpBinding } from '../http1/llhttp.js';
import { SweepTimer, sweepIntervalMs } from '../http1/sweep.js';
import { LlhttpPool } from './pool.js';

/**
 * The proxy's own HTTP/1.1 client for the hot path (UPSTREAM_CLIENT=llhttp):
 * a keep-alive pool per backend whose sockets parse responses with Node's
 * bundled llhttp (the binding the `net` data plane reads requests with), in
 * place of undici's client, which keeps its own llhttp (WebAssembly), builds
 * a request object, validates every header again and arms timers per request.
 *
 * - One request per socket at a time (no pipelining upstream); at most
 *   `connections` sockets per backend; requests wait in a FIFO queue past that.
 * - Request bodies stream with backpressure, framed from the request's
 *   parsed `contentLength` (`http1/framing.ts` writes it as `content-length`), else re-framed
 *   as chunked; the header list carries no framing field.
 * - One interval timer for every pool (the sweep) enforces the connect,
 *   headers and body timeouts and closes idle sockets; nothing is armed per
 *   request. An idle socket past its keep-alive limit is also refused the
 *   moment it would be reused, so the sweep's period never lets a request
 *   race a server's keep-alive close.
 * - Errors say whether the request provably never reached a socket
 *   (UpstreamError.neverSent), which is what lets a retry skip the budget.
 *
 * In Envoy's shape: this file owns the options and the sweep; `pool.ts`
 * assigns calls to connections; `connection.ts` is the client side of the
 * HTTP/1 codec (`forwarding/http1/`); `call.ts` is one request's handle.
 */

export interface UpstreamClientOptions {
  /** Sockets per backend. */
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** From the last request byte written to the end of the response head. */
  readonly headersTimeoutMs: number;
  /** Longest silence between response body reads (not counted while the client holds us paused). */
  readonly bodyTimeoutMs: number;
  /** Idle keep-alive sockets close after this (or sooner when the server's Keep-Alive header says so). */
  readonly idleTimeoutMs: number;
  /** Largest response head accepted. */
  readonly maxHeaderBytes: number;
}

/** A timeout fires within a quarter of its length: the sweep runs at least this often relative to the shortest. */
const SWEEP_FRACTION = 4;

/** One upstream client per proxy: owns the sweep timer and the pools it sweeps. */
export class UpstreamClient {
  private readonly pools = new Set<LlhttpPool>();
  private readonly sweepTimer: SweepTimer;

  constructor(
    readonly llhttp: LlhttpBinding,
    readonly options: UpstreamClientOptions,
  ) {
    const shortest = Math.min(
      options.connectTimeoutMs,
      options.headersTimeoutMs,
      options.bodyTimeoutMs,
      options.idleTimeoutMs,
    );
    this.sweepTimer = new SweepTimer(sweepIntervalMs(shortest, SWEEP_FRACTION), (now) => this.sweep(now));
  }

  get sweepIntervalMs(): number {
    return this.sweepTimer.intervalMs;
  }

  /** A pool for one backend at `address` (http://host:port). */
  pool(address: string): LlhttpPool {
    const pool = new LlhttpPool(this, address);
    this.pools.add(pool);
    this.sweepTimer.start();
    return pool;
  }

  /** Sockets open across every pool (for tests and leak checks). */
  get openSockets(): number {
    let n = 0;
    for (const p of this.pools) n += p.size;
    return n;
  }

  /** Called by a pool once it is closed and empty. */
  forget(pool: LlhttpPool): void {
    this.pools.delete(pool);
    if (this.pools.size === 0) this.sweepTimer.stop();
  }

  private sweep(now: number): void {
    for (const pool of this.pools) pool.sweep(now);
  }
}

export type { LlhttpPool };
