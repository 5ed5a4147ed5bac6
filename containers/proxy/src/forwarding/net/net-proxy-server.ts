import { createServer, type Server, type Socket } from 'node:net';
import type { LocalRoutes } from '#core/ports/local-routes.js';
import { Exchange } from '../exchange.js';
import type { Forwarding } from '../forwarding.js';
import { type LlhttpBinding, loadLlhttp } from '../http1/llhttp.js';
import { SweepTimer, sweepIntervalMs } from '../http1/sweep.js';
import { LocalExchange } from '../local-exchange.js';
import type { ProxyListener } from '../proxy-listener.js';
import type { ProxyServerLimits } from '../proxy-server.js';
import { ClientConnection, type ConnectionHost } from './client-connection.js';
import type { NetClientRequest } from './net-client-request.js';

/**
 * The `net` data plane: a plain TCP server whose connections parse HTTP/1.1
 * with Node's bundled llhttp and hand each request to an Exchange, skipping
 * node:http's IncomingMessage/ServerResponse machinery (about 14 µs of CPU
 * per request on these machines). One timer sweeps every connection for the
 * header, request and keep-alive timeouts, so no timer is armed per request.
 */
export class NetProxyServer implements ProxyListener, ConnectionHost {
  readonly server: Server;
  readonly llhttp: LlhttpBinding;
  readonly maxHeaderBytes: number;
  readonly requestTimeoutMs: number;
  private readonly connections = new Set<ClientConnection>();
  private readonly sweepTimer: SweepTimer;

  constructor(
    private readonly fwd: Forwarding,
    private readonly limits: ProxyServerLimits,
    /** Requests something in the proxy answers itself (an extension's routes); everything else is forwarded. */
    private readonly routes?: LocalRoutes,
  ) {
    this.llhttp = loadLlhttp();
    this.maxHeaderBytes = limits.maxHeaderBytes;
    this.requestTimeoutMs = limits.requestTimeoutMs;
    // allowHalfOpen: the connection decides what a client's FIN means (see ClientConnection.ended).
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
      this.connections.add(new ClientConnection(socket, this));
    });
    this.sweepTimer = new SweepTimer(sweepIntervalMs(limits.headersTimeoutMs), (now) => this.sweep(now));
    this.sweepTimer.start();
  }

  get draining(): boolean {
    return this.fwd.traffic.draining;
  }

  handle(request: NetClientRequest): void {
    const routes = this.routes;
    if (routes?.claims(request.method, request.url))
      new LocalExchange(routes, request, this.fwd.traffic, this.fwd.log).start();
    else new Exchange(this.fwd, request).start();
  }

  forget(connection: ClientConnection): void {
    this.connections.delete(connection);
  }

  stopListening(): void {
    if (this.server.listening) this.server.close();
  }

  /** Stops accepting, closes idle connections, resolves when every connection is gone. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.sweepTimer.stop();
        resolve();
      };
      if (this.server.listening) this.server.close(done);
      else if (this.connections.size === 0) done();
      else this.server.once('close', done);
      for (const c of this.connections) if (c.idle) c.destroy();
      // net.Server emits 'close' once listening stopped and its last connection ended.
      if (!this.server.listening && this.connections.size === 0) done();
    });
  }

  closeAllConnections(): void {
    for (const c of this.connections) c.destroy();
  }

  private sweep(now: number): void {
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = this.limits;
    for (const c of this.connections) {
      if (c.headStartedAt > 0 && now - c.headStartedAt > headersTimeoutMs) c.timedOut();
      else if (c.requestStartedAt > 0 && now - c.requestStartedAt > requestTimeoutMs) c.timedOut();
      else if (c.idle && now - c.idleSince > keepAliveTimeoutMs) c.destroy();
    }
  }
}
