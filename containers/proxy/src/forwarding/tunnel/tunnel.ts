import type { Socket } from 'node:net';
import type { Demand } from '#core/balancing/backend.js';
import type { UpstreamBackend } from '../../fleet/upstream-backend.js';

/** What a tunnel reports to when it ends. */
export interface TunnelHost {
  readonly idleTimeoutMs: number;
  tunnelEnded(tunnel: Tunnel): void;
}

// Listeners shared by every tunnel: `this` is a socket tagged with its tunnel, so none is allocated per tunnel.
const kTunnel = Symbol('ringmaster.tunnel');
/** Set on a side once its 'close' has been counted. */
const kSideDone = Symbol('ringmaster.tunnel.sideDone');
type TunnelSocket = Socket & { [kTunnel]: Tunnel; [kSideDone]?: true };
function onTunnelError(this: TunnelSocket): void {
  // A reset or a write after the peer vanished: 'close' follows, and closes the other side.
}
function onTunnelClose(this: TunnelSocket, hadError: boolean): void {
  this[kTunnel].sideClosed(this, hadError);
}
function onTunnelTimeout(this: TunnelSocket): void {
  this[kTunnel].idle();
}

/**
 * One open tunnel: the client's socket and the server's, joined after the
 * server's 101. Bytes flow both ways unchanged, with backpressure (pipe
 * pauses the reader while the other side's buffer is full). Each side's
 * end is carried to the other on its own, so a half-close is honoured: the
 * client may finish sending and still read the server's answer. No byte
 * either way for the idle timeout closes both. While open, the tunnel counts
 * as an attempt in flight on its server, which is what least-connections and
 * bounded load read.
 */
export class Tunnel {
  private openSides = 2;
  /** Why the proxy closed it (idle, drain, shutdown), or null if an end closed it. */
  closedBy: 'idle' | 'drain' | null = null;

  constructor(
    private readonly host: TunnelHost,
    readonly backend: UpstreamBackend,
    readonly demand: Demand,
    /** From sending the upgrade request to the server's 101. */
    readonly handshakeMs: number,
    private readonly client: Socket,
    private readonly upstream: Socket,
  ) {}

  /** Joins the two sides; `clientHead` and `upstreamHead` are what each sent after its head. */
  start(clientHead: Buffer, upstreamHead: Buffer): void {
    const { client, upstream, host } = this;
    for (const socket of [client, upstream]) {
      const s = socket as TunnelSocket;
      s[kTunnel] = this;
      s.on('error', onTunnelError);
      s.on('close', onTunnelClose);
      s.on('timeout', onTunnelTimeout);
      // Reads and completed writes both count as activity, so either side's timer sees traffic both ways.
      s.setTimeout(host.idleTimeoutMs);
    }
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (clientHead.length > 0) upstream.write(clientHead);
    client.pipe(upstream);
    upstream.pipe(client);
    // A side that closed while the tunnel was being joined never emits 'close' to us again.
    if (client.destroyed) this.sideClosed(client, false);
    if (upstream.destroyed) this.sideClosed(upstream, false);
  }

  /** Closes both sides now (the idle timeout, a drain deadline, shutdown). */
  close(reason: 'idle' | 'drain'): void {
    if (this.openSides === 0) return;
    this.closedBy ??= reason;
    this.client.destroy();
    this.upstream.destroy();
  }

  idle(): void {
    this.close('idle');
  }

  /**
   * One side's socket closed. If its end was already passed on to the other
   * side (a half-close run its course), the other finishes by itself;
   * otherwise (a reset, an error) the other side is cut, since nothing
   * more can cross.
   */
  sideClosed(socket: Socket, hadError: boolean): void {
    const other = socket === this.client ? this.upstream : this.client;
    const s = socket as TunnelSocket;
    if (s[kSideDone]) return;
    s[kSideDone] = true;
    this.openSides--;
    if (hadError || !other.writableEnded || !socket.readableEnded) other.destroy();
    if (this.openSides === 0) this.host.tunnelEnded(this);
  }
}
