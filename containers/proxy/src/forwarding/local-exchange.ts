import type { Logger } from 'pino';
import { asDomainError, DomainError } from '#core/errors/domain-error.js';
import { statusOf } from '#core/http/error-status.js';
import { errorJson } from '#core/http/json.js';
import { readLimited } from '#core/http/read-body.js';
import type { LocalReply, LocalRoutes } from '#core/ports/local-routes.js';
import { pathOf } from '#core/routing/key-source.js';
import type { ClientCloseListener, ClientSide } from './client-side.js';
import type { Traffic } from './forwarding.js';

/**
 * One request that local routes claimed, answered through the same
 * ClientSide the Exchange uses, so both data planes serve local routes with
 * the same code: the body is read within the routes' limit, the routes
 * answer, and the answer is written as JSON. Nothing here is forwarded and
 * no backend is charged for it.
 */
export class LocalExchange implements ClientCloseListener {
  private gone = false;
  private finished = false;
  /** The head declared a body (only then can part of it still be unread when we answer). */
  private hasBody = false;

  constructor(
    private readonly routes: LocalRoutes,
    private readonly client: ClientSide,
    private readonly traffic: Traffic,
    private readonly log: Logger,
  ) {}

  start(): void {
    const { client, traffic } = this;
    traffic.active++;
    traffic.lastRequestAt = performance.now();
    client.watchClose(this);
    const headers = headerMap(client.rawHeaders);
    this.answer(headers).then(
      (reply) => this.reply(reply),
      (err: unknown) => this.failed(err),
    );
  }

  clientClosed(): void {
    this.gone = true;
    this.done();
  }

  private async answer(headers: Record<string, string>): Promise<LocalReply> {
    const { client, routes } = this;
    const limit = routes.maxBodyBytes;
    const declared = headers['content-length'];
    const length = declared === undefined ? 0 : Number(declared);
    if (length > limit) throw new DomainError('BODY_TOO_LARGE', 'body', `larger than ${limit} bytes`);
    this.hasBody = length > 0 || headers['transfer-encoding'] !== undefined;
    if (this.hasBody && headers.expect?.toLowerCase() === '100-continue') client.sendContinue();
    const body = this.hasBody ? await readLimited(client.requestBody(), limit) : EMPTY;
    const url = client.url;
    return this.routes.serve({
      method: client.method,
      url,
      path: pathOf(url),
      headers,
      remoteAddress: client.remoteAddress,
      body,
    });
  }

  /** The body could not be read (too large, malformed, too slow), or the routes broke their promise to resolve. */
  private failed(err: unknown): void {
    const failure = asDomainError(err);
    if (statusOf(failure.code) >= 500) this.log.error({ err, url: this.client.url }, 'local route failed');
    this.reply({ status: statusOf(failure.code), json: errorJson(failure) });
  }

  private reply(reply: LocalReply): void {
    const { client } = this;
    if (this.gone || client.responseEnded) {
      this.done();
      return;
    }
    if (client.headersSent) {
      client.destroy();
      this.done();
      return;
    }
    const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(reply.json))];
    // An unread upload would otherwise be parsed as the next request.
    if (this.traffic.draining || (this.hasBody && !client.requestComplete)) headers.push('connection', 'close');
    client.writeHead(reply.status, headers);
    client.end(reply.json);
    this.done();
  }

  private done(): void {
    if (this.finished) return;
    this.finished = true;
    this.traffic.active--;
  }
}

const EMPTY = Buffer.alloc(0);

/** Header fields by lower-case name, repeated ones joined (local routes are rare: no need to scan lazily). */
function headerMap(raw: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return headers;
}
