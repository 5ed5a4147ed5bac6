import type { Readable } from 'node:stream';
import { ClientAbortedError } from '../errors.js';
import type { UpstreamConnection } from './connection.js';
import type { LlhttpPool } from './pool.js';
import type { UpstreamCall, UpstreamHandler, UpstreamRequest } from './upstream.js';

const kCall = Symbol('ringmaster.upstreamCall');
type WithCall<T> = T & { [kCall]: Call };

// Body listeners shared by every call: `this` is the body stream, tagged with its call, so nothing is allocated per request.
function onBodyError(this: WithCall<Readable>, err: Error): void {
  this[kCall].bodyFailed(err);
}
/** Exported so the connection that streams the body can remove it once the body is done with. */
export function onBodyClose(this: WithCall<Readable>): void {
  // Destroyed without an error (the client went away): 'end' never came. After an error, 'error' said it.
  if (!this.readableEnded && !this.errored)
    this[kCall].bodyFailed(new ClientAbortedError('the request body was abandoned'));
}

/**
 * One request through its life in a pool: queued, then on a connection, then
 * done. It is the handle the Exchange aborts through, and it owns the
 * handler's single error.
 */
export class Call implements UpstreamCall {
  connection: UpstreamConnection | null = null;
  done = false;
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  readonly body: Readable | null;
  readonly contentLength: number;
  readonly upgrade: string | null;

  constructor(
    readonly pool: LlhttpPool,
    request: UpstreamRequest,
    readonly handler: UpstreamHandler,
  ) {
    this.method = request.method;
    this.path = request.path;
    this.headers = request.headers;
    this.body = request.body;
    this.contentLength = request.contentLength;
    this.upgrade = request.upgrade ?? null;
  }

  abort(err: Error): void {
    if (this.done) return;
    const c = this.connection;
    if (c !== null) {
      c.abandon(err);
      return;
    }
    this.pool.unqueue(this);
    this.fail(err);
  }

  /**
   * Listens for the body failing from the moment the request is accepted, as
   * undici does: a body that fails while the request waits for a socket (a
   * malformed chunk, a limit) fails the request instead of going unheard.
   * The listener stays for the body's life and ignores a finished call.
   */
  watchBody(): void {
    const b = this.body as WithCall<Readable>;
    b[kCall] = this;
    b.on('error', onBodyError);
    b.on('close', onBodyClose);
  }

  bodyFailed(err: Error): void {
    if (this.done) return;
    this.abort(err);
  }

  /** Ends the call with `err` (the handler hears of it once). */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.connection = null;
    this.body?.removeListener('close', onBodyClose);
    this.handler.onError(err);
  }
}
