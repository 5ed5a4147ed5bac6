import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';

/** One request as the Exchange hands it to an upstream client. */
export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  /**
   * Flat [name, value, …] list, hop-by-hop headers already removed, and no
   * framing field (Content-Length, Transfer-Encoding): the client writes the
   * framing itself from `contentLength` and `body`, never from a header value.
   */
  readonly headers: string[];
  readonly body: Readable | null;
  /** The body's length as the proxy parsed it, or -1 (then a body is sent with chunked framing). */
  readonly contentLength: number;
  /**
   * The Upgrade protocols of a request the proxy tunnels (the client writes
   * `connection: upgrade` and `upgrade:` itself); null or absent for every other request.
   */
  readonly upgrade?: string | null;
}

/** A client's handle on a running (or queued) request. */
export interface UpstreamCall {
  /**
   * Abandons the request: the handler's onError follows (at once, or when a
   * queued request would have started); a socket mid-request is destroyed.
   */
  abort(err: Error): void;
}

/**
 * What an upstream client drives as a request proceeds. Both clients call
 * onUpstreamCall synchronously inside dispatch, so the handler can abort a
 * request at any point, even one still queued for a socket.
 */
export interface UpstreamHandler {
  /** The request was accepted (queued or sent); `call.abort` cancels it. */
  onUpstreamCall(call: UpstreamCall): void;
  /** Raw headers are latin1 strings from the llhttp client, Buffers from undici. False pauses reading. */
  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void): boolean;
  /** False pauses reading until `resume` (from onHeaders) is called. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  /**
   * The server switched protocols (101) for a request with `upgrade`: the
   * socket is the handler's from here on, detached from the client, with
   * `head` the bytes the server sent after its 101 (possibly none).
   */
  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[], socket: Socket, head: Buffer): void;
  /** Exactly once per request that did not complete, including after an abort. */
  onError(err: Error): void;
}

/** A backend's connections as the hot path uses them. */
export interface Upstream {
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void;
  /** Refuses new requests, lets running and queued ones finish, then releases every socket. */
  close(): Promise<void>;
}

const EMPTY = Buffer.alloc(0);

/** undici's Pool behind the Upstream interface (UPSTREAM_CLIENT=undici). */
export class UndiciUpstream implements Upstream {
  constructor(readonly pool: Pool) {}

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    // undici takes a body's length only from a header; it frames a body without one as chunked.
    // It writes `connection: upgrade` and `upgrade:` itself from `upgrade`, which it wants undefined otherwise.
    const options =
      request.contentLength < 0 && request.upgrade == null
        ? request
        : {
            ...request,
            headers:
              request.contentLength < 0
                ? request.headers
                : [...request.headers, 'content-length', String(request.contentLength)],
            upgrade: request.upgrade ?? undefined,
          };
    const call = new UndiciCall(handler);
    handler.onUpstreamCall(call);
    this.pool.dispatch(options as Dispatcher.DispatchOptions, call);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * One request on undici's Pool: translates undici's controller callbacks into
 * the UpstreamHandler's, and keeps an abort that arrives while the request is
 * still queued. undici gives a controller only once the request starts; an
 * abort dropped before then left the request to run later with nobody
 * listening, its response paused forever on a pooled socket and every request
 * queued behind it counted in flight until shutdown (found by the fuzzer).
 */
class UndiciCall implements UpstreamCall, Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private abortReason: Error | null = null;

  constructor(private readonly handler: UpstreamHandler) {}

  abort(err: Error): void {
    if (this.controller === null) this.abortReason ??= err;
    else this.controller.abort(err);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason !== null) controller.abort(this.abortReason);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // The raw [name, value, …] list: the proxy forwards fields as the server sent them.
    const rawHeaders = (controller.rawHeaders ?? []) as Buffer[];
    if (!this.handler.onHeaders(statusCode, rawHeaders, this.resume)) controller.pause();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.handler.onData(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    // Trailers are not forwarded (the proxy frames its own response), as with the llhttp client.
    this.handler.onComplete(null);
  }

  onRequestUpgrade(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    _headers: unknown,
    socket: Socket,
  ): void {
    // The raw list is on the controller (the object form loses repeats and spelling). undici has put any
    // bytes after the 101 back into the socket (unshift), so they are read from it: no head here.
    this.handler.onUpgrade(statusCode, (controller.rawHeaders ?? []) as Buffer[], socket, EMPTY);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.handler.onError(err);
  }

  private readonly resume = (): void => {
    this.controller?.resume();
  };
}
