import { nowMs } from '../clock.js';
import { UpstreamClosedError } from '../errors.js';
import { Call } from './call.js';
import { UpstreamConnection } from './connection.js';
import type { UpstreamClient, UpstreamClientOptions } from './llhttp-client.js';
import type { Upstream, UpstreamHandler, UpstreamRequest } from './upstream.js';

/** Like undici's keepAliveTimeoutThreshold: leave a server's advertised keep-alive this much early. */
const KEEP_ALIVE_HINT_MARGIN_MS = 2000;

/**
 * The keep-alive sockets to one backend and the requests waiting for one:
 * the pool apart from the codec (Envoy's shape): which connection serves
 * which call, the FIFO queue past `connections` sockets, idle reuse most
 * recent first, and closing. It writes and parses nothing itself.
 */
export class LlhttpPool implements Upstream {
  readonly host: string;
  readonly port: number;
  /** The Host header sent when the client's request has none (HTTP/1.0). */
  readonly hostHeader: string;
  readonly options: UpstreamClientOptions;
  closed = false;
  private readonly all = new Set<UpstreamConnection>();
  /** Idle sockets, most recently used last (reused first, so the rest age out). */
  private readonly idle: UpstreamConnection[] = [];
  private readonly queue: Call[] = [];
  private closeWaiters: (() => void)[] | null = null;

  constructor(
    readonly client: UpstreamClient,
    readonly address: string,
  ) {
    const url = new URL(address);
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
    this.options = client.options;
  }

  get size(): number {
    return this.all.size;
  }

  private lastHint = '';
  private lastHintLimitMs = 0;

  /** How long a socket may idle given the server's `Keep-Alive` value; a server sends the same one every time, so it is parsed once. */
  idleLimitFor(keepAlive: string): number {
    if (keepAlive === this.lastHint) return this.lastHintLimitMs;
    const m = /timeout=\s*(\d+)/i.exec(keepAlive);
    const limit =
      m === null
        ? this.options.idleTimeoutMs
        : Math.min(this.options.idleTimeoutMs, Number(m[1]) * 1000 - KEEP_ALIVE_HINT_MARGIN_MS);
    this.lastHint = keepAlive;
    this.lastHintLimitMs = limit;
    return limit;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.closed) {
      handler.onError(new UpstreamClosedError());
      return;
    }
    const call = new Call(this, request, handler);
    handler.onUpstreamCall(call);
    if (call.body !== null) call.watchBody();
    this.assign(call);
  }

  close(): Promise<void> {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.destroy();
    if (this.all.size === 0 && this.queue.length === 0) {
      this.client.forget(this);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.closeWaiters ??= [];
      this.closeWaiters.push(resolve);
    });
  }

  /** Gives `call` an idle socket, a new one, or a place in the queue. */
  private assign(call: Call): void {
    if (call.upgrade !== null) {
      // A tunnel keeps its socket for good, and needs a streaming one (pooled sockets read through `onread`):
      // a fresh connection, outside the pool's limit (MAX_TUNNELS bounds these; the socket leaves at the 101).
      this.all.add(new UpstreamConnection(this, call));
      return;
    }
    const now = nowMs();
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (c.reusable(now)) {
        c.start(call, now);
        return;
      }
      c.destroy();
    }
    if (this.all.size < this.options.connections) {
      this.all.add(new UpstreamConnection(this, call));
      return;
    }
    this.queue.push(call);
  }

  /** A socket finished its request and may carry another. */
  release(c: UpstreamConnection): void {
    const next = this.queue.length === 0 ? undefined : this.queue.shift();
    if (next !== undefined) {
      c.start(next, nowMs());
      return;
    }
    if (this.closed) {
      c.destroy();
      return;
    }
    c.becomeIdle();
    this.idle.push(c);
  }

  /** A queued request was abandoned before it got a socket. */
  unqueue(call: Call): boolean {
    const i = this.queue.indexOf(call);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  /** A socket closed: forget it, and open another for the queue if one waits. */
  closedConnection(c: UpstreamConnection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.queue.shift();
    if (next !== undefined) this.all.add(new UpstreamConnection(this, next));
    else if (this.closed && this.all.size === 0) this.finishClose();
  }

  sweep(now: number): void {
    for (const c of this.all) c.sweep(now);
  }

  private finishClose(): void {
    this.client.forget(this);
    const waiters = this.closeWaiters;
    this.closeWaiters = null;
    if (waiters !== null) for (const w of waiters) w();
  }
}
