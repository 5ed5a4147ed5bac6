import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { type Demand, NO_DEMAND } from '#core/balancing/backend.js';
import { errorJson } from '#core/http/json.js';
import { cookieValue, pathOf, queryParam } from '#core/routing/key-source.js';
import type { UpstreamBackend } from '../fleet/upstream-backend.js';
import { limitBody } from './byte-limit.js';
import type { ClientCloseListener, ClientSide } from './client-side.js';
import { nowMs } from './clock.js';
import { parseDemand } from './demand.js';
import {
  BodyTooLargeError,
  ClientAbortedError,
  ClientRequestError,
  ConnectionOptionError,
  HostError,
  NoHealthyServerError,
  type ProxyError,
  TooManyHeadersError,
  TunnelUnavailableError,
  toClientError,
  wasNeverSent,
} from './errors.js';
import type { Forwarding } from './forwarding.js';
import { responseHeaders, scanRequestHead } from './request-head.js';
import type { RetryWaiter } from './retry-budget.js';
import { switchingProtocolsHead } from './tunnel/switching-head.js';
import type { UpstreamCall, UpstreamHandler, UpstreamRequest } from './upstream/upstream.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/**
 * One client request and its attempts upstream. It is its own upstream
 * handler (undici's legacy dispatch-handler callbacks, which the llhttp
 * client drives too), so bytes go from upstream socket to client socket with
 * no intermediate stream, promise or per-chunk closure. Backend bookkeeping
 * (in-flight counts, demand, failures, latency) belongs to the fleet; the
 * exchange only tells it when an attempt begins, answers and ends. The client
 * half is a ClientSide, so both data planes share this logic.
 */
export class Exchange implements UpstreamHandler, RetryWaiter, ClientCloseListener {
  private backend: UpstreamBackend | undefined;
  /** The backend and error of the attempt waiting for a retry slot. */
  private failedBackend: UpstreamBackend | undefined;
  private failure: Error | undefined;
  private attempts = 0;
  private holdsRetry = false;
  /** Cancels the running (or queued) attempt. */
  private upstreamCall: UpstreamCall | null = null;
  private resumeUpstream: (() => void) | null = null;
  private readonly startedAt = nowMs();
  private sentAt = 0;
  private status = 0;
  private done = false;
  private requestId = '';
  private keyHash = 0;
  private demand: Demand = NO_DEMAND;
  private body: Readable | null = null;
  private options: UpstreamRequest | undefined;
  /** A tunnel request holding a place under MAX_TUNNELS until its server answers. */
  private tunnelReserved = false;

  constructor(
    private readonly fwd: Forwarding,
    private readonly client: ClientSide,
  ) {}

  start(): void {
    const { fwd, client } = this;
    const { settings } = fwd;
    fwd.traffic.active++;
    fwd.traffic.lastRequestAt = this.startedAt;
    client.watchClose(this);
    const rawHeaders = client.rawHeaders;
    const head = scanRequestHead(rawHeaders, settings.keyHeaderName, settings.demandHeaderName);
    this.requestId = head.requestId ?? fwd.requestIds.next();
    if (rawHeaders.length > settings.maxHeaderCount * 2) {
      this.replyError(new TooManyHeadersError(settings.maxHeaderCount), true);
      return;
    }
    if (head.duplicateHost || (head.host === undefined && client.needsHostCheck)) {
      this.replyError(new HostError(head.duplicateHost ? 'repeated' : 'missing'), true);
      return;
    }
    if (head.connectionNamesFraming !== undefined) {
      this.replyError(new ConnectionOptionError(head.connectionNamesFraming), true);
      return;
    }
    if (head.contentLength > settings.maxBodyBytes) {
      fwd.metrics.bodyTooLarge++;
      this.replyError(new BodyTooLargeError(settings.maxBodyBytes), true);
      return;
    }
    const upgrade = client.upgrade;
    if (upgrade !== null && !this.admitTunnel()) return;
    if (head.expectContinue) client.sendContinue();
    if (head.chunked) this.body = limitBody(client.requestBody(), settings.maxBodyBytes);
    else if (head.contentLength > 0) this.body = client.requestBody();

    const clientAddress = client.remoteAddress;
    const headers = head.headers;
    headers.push(
      'x-forwarded-for',
      head.forwardedFor === undefined ? clientAddress : `${head.forwardedFor}, ${clientAddress}`,
      'x-request-id',
      this.requestId,
    );
    if (!head.forwardedProto) headers.push('x-forwarded-proto', 'http');
    if (!head.forwardedHost && head.host !== undefined) headers.push('x-forwarded-host', head.host);

    const url = client.url;
    const strategy = fwd.fleet.strategy;
    if (strategy.usesKey) {
      const key = this.routingKey(url, head.keyHeader, clientAddress);
      // No key: spread such requests evenly rather than piling them on one server.
      this.keyHash = key === undefined ? (Math.random() * 0x100000000) >>> 0 : strategy.keyHash(key);
    }
    if (strategy.usesDemand) this.demand = parseDemand(head.demandHeader);
    // The upstream client frames the body from what the parser read: chunked wins (the parser refuses both together).
    const contentLength = head.chunked ? -1 : head.contentLength;
    this.options = { path: url, method: client.method, headers, body: this.body, contentLength, upgrade };
    this.attempt(undefined);
  }

  /** A tunnel request takes a place under MAX_TUNNELS, unless none is left or the proxy is shutting down. */
  private admitTunnel(): boolean {
    const { fwd } = this;
    if (fwd.traffic.draining) {
      this.replyError(new TunnelUnavailableError('draining'), true);
      return false;
    }
    if (!fwd.tunnels.reserve()) {
      this.replyError(new TunnelUnavailableError('full', fwd.tunnels.limits.max), true);
      return false;
    }
    this.tunnelReserved = true;
    return true;
  }

  private routingKey(url: string, keyHeader: string | undefined, clientAddress: string): string | undefined {
    const source = this.fwd.settings.keySource;
    switch (source.kind) {
      case 'query':
        return queryParam(url, source.name);
      case 'header':
        return keyHeader;
      case 'cookie':
        // Captured by the raw-header scan, so Node never has to build req.headers.
        return keyHeader === undefined ? undefined : cookieValue(keyHeader, source.name);
      case 'path':
        return pathOf(url);
      case 'client-ip':
        return clientAddress;
    }
  }

  /** Sends the request to a backend chosen by the strategy, avoiding `exclude`. */
  private attempt(exclude: UpstreamBackend | undefined): void {
    const { fwd } = this;
    const backend = fwd.fleet.strategy.pick(this.keyHash, this.demand, exclude) as UpstreamBackend | undefined;
    if (backend === undefined) {
      fwd.metrics.noHealthyServer++;
      this.releaseRetry();
      this.replyError(new NoHealthyServerError(), false);
      return;
    }
    this.backend = backend;
    this.attempts++;
    fwd.fleet.beginAttempt(backend, this.demand);
    this.upstreamCall = null;
    this.sentAt = nowMs();
    backend.upstream.dispatch(this.options as UpstreamRequest, this);
  }

  onUpstreamCall(call: UpstreamCall): void {
    this.upstreamCall = call;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx interim responses are not forwarded
    const { fwd, client } = this;
    const now = nowMs();
    fwd.fleet.recordResponse(this.backend as UpstreamBackend, statusCode, now - this.sentAt, now);
    this.status = statusCode;
    this.resumeUpstream = resume;
    const headers = responseHeaders(rawHeaders, this.requestId);
    if (fwd.traffic.draining) headers.push('connection', 'close');
    client.writeHead(statusCode, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.client.write(chunk)) return true;
    // Client is slower than the server: pause upstream until the client drains.
    this.client.onDrain(this.resumeUpstream as () => void);
    return false;
  }

  /**
   * The server switched protocols for a tunnel request: the 101 goes to the
   * client, and both sockets become a tunnel. The attempt stays in flight on
   * the server while the tunnel is open (Tunnels ends it), so strategies that
   * count load count open tunnels; the request itself is finished here.
   */
  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[], socket: Socket, head: Buffer): void {
    const { fwd, client } = this;
    const backend = this.backend;
    if (this.done || backend === undefined) {
      socket.destroy();
      return;
    }
    const now = performance.now();
    const handshakeMs = now - this.sentAt;
    fwd.fleet.recordResponse(backend, statusCode, handshakeMs, now);
    this.backend = undefined;
    this.status = statusCode;
    this.tunnelReserved = false;
    const clientEnd = client.takeSocket();
    clientEnd.socket.write(switchingProtocolsHead(rawHeaders, this.requestId), 'latin1');
    fwd.tunnels.start(backend, this.demand, handshakeMs, clientEnd, socket, head);
    this.finish();
  }

  onComplete(): void {
    this.client.end();
    // One clock read for both: they are the same moment.
    const now = nowMs();
    this.releaseBackend(now);
    this.finish(now);
  }

  onError(err: Error): void {
    const failed = this.backend as UpstreamBackend;
    this.releaseBackend();
    const { fwd, client } = this;
    if (this.done) return; // client already gone; the abort we caused lands here
    if (err instanceof ClientRequestError) {
      // The client's fault, found while its body streamed (a limit, bad framing, a timeout).
      if (err instanceof BodyTooLargeError) fwd.metrics.bodyTooLarge++;
      if (!client.headersSent) this.replyError(err, true);
      else client.destroy(err);
      return;
    }
    fwd.fleet.recordUpstreamError(failed);
    if (!client.headersSent && this.mayRetry(err)) {
      if (fwd.settings.debug) {
        fwd.log.debug({ requestId: this.requestId, server: failed.id, err }, 'retrying on another server');
      }
      // Never sent: no server saw it, so a retry adds no load and needs no budget.
      if (this.holdsRetry || wasNeverSent(err)) {
        this.retry(failed);
        return;
      }
      this.failedBackend = failed;
      this.failure = err;
      const decision = fwd.retryBudget.acquire(this);
      if (decision === 'granted') this.grantRetry();
      else if (decision === 'denied') this.denyRetry();
      return;
    }
    if (client.headersSent) {
      // Mid-body failure: the status is gone, so cut the client connection to signal it.
      fwd.log.warn({ requestId: this.requestId, server: failed.id, err }, 'upstream failed mid-response');
      client.destroy(err);
      this.finish();
      return;
    }
    this.replyUpstreamFailure(failed, err);
  }

  /** The retry budget has a slot for us (at once or after waiting). */
  grantRetry(): void {
    this.holdsRetry = true;
    if (this.done) {
      this.releaseRetry();
      return;
    }
    this.retry(this.failedBackend as UpstreamBackend);
  }

  /** No retry slot came in time: report the failure that wanted one. */
  denyRetry(): void {
    if (this.done) return;
    this.replyUpstreamFailure(this.failedBackend as UpstreamBackend, this.failure as Error);
  }

  private retry(failed: UpstreamBackend): void {
    this.fwd.metrics.retries++;
    this.attempt(failed);
  }

  private replyUpstreamFailure(failed: UpstreamBackend, err: Error): void {
    const clientError = toClientError(failed.id, err);
    this.fwd.log.warn(
      { requestId: this.requestId, server: failed.id, status: clientError.status, err },
      'upstream failed',
    );
    this.replyError(clientError, false);
  }

  /** The client connection closed; abandon the upstream request if it is still running. */
  clientClosed(): void {
    if (this.done || this.client.responseFinished) return;
    this.fwd.metrics.clientAborts++;
    this.fwd.retryBudget.cancel(this);
    this.finish();
    const aborted = new ClientAbortedError('client closed the connection');
    this.upstreamCall?.abort(aborted);
    if (this.body !== null && !this.body.destroyed) this.body.destroy();
  }

  /**
   * Retry on another server only when repeating cannot do harm: the method is
   * idempotent and its body (if any) is still unread, or the request never
   * reached a server. And only within the attempt limit (the budget is asked next).
   */
  private mayRetry(err: Error): boolean {
    if (this.attempts >= this.fwd.settings.maxAttempts) return false;
    const bodyUntouched = this.body === null || (!this.body.destroyed && !this.body.readableDidRead);
    return bodyUntouched && (IDEMPOTENT.has(this.client.method) || wasNeverSent(err));
  }

  private releaseBackend(now = nowMs()): void {
    const backend = this.backend;
    if (backend === undefined) return;
    this.backend = undefined;
    this.fwd.fleet.endAttempt(backend, this.demand, this.status, now - this.sentAt);
  }

  private releaseRetry(): void {
    if (this.holdsRetry) {
      this.holdsRetry = false;
      this.fwd.retryBudget.release();
    }
  }

  private replyError(err: ProxyError, closeConnection: boolean): void {
    const { client } = this;
    const status = err.status;
    this.status = status;
    const body = errorJson(err, this.requestId);
    const headers = [
      'content-type',
      'application/json',
      'content-length',
      String(Buffer.byteLength(body)),
      'x-request-id',
      this.requestId,
    ];
    if (err instanceof TunnelUnavailableError) headers.push('retry-after', String(err.retryAfterSeconds));
    // An unread upload would otherwise be parsed as the next request.
    if (closeConnection || this.fwd.traffic.draining || (this.body !== null && !client.requestComplete)) {
      headers.push('connection', 'close');
    }
    client.writeHead(status, headers);
    client.end(body);
    this.finish();
  }

  private finish(now = nowMs()): void {
    if (this.done) return;
    this.done = true;
    const { fwd } = this;
    fwd.traffic.active--;
    this.releaseRetry();
    if (this.tunnelReserved) {
      this.tunnelReserved = false;
      fwd.tunnels.unreserve();
    }
    const elapsedMs = now - this.startedAt;
    fwd.metrics.observe(this.client.responseFinished || this.client.responseEnded ? this.status : 0, elapsedMs);
    if (fwd.settings.debug) {
      fwd.log.debug(
        {
          requestId: this.requestId,
          method: this.client.method,
          url: this.client.url,
          status: this.status,
          attempts: this.attempts,
          ms: Math.round(elapsedMs * 1000) / 1000,
        },
        'request',
      );
    }
  }
}
