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
}

/** The llhttp client's handle on a running request. */
export interface UpstreamCall {
  /** Abandons the request: the handler's onError follows at once; a socket mid-request is destroyed. */
  abort(err: Error): void;
}

/**
 * What an upstream client drives as a request proceeds: undici's legacy
 * dispatch-handler callbacks (which the llhttp client drives too), plus
 * onUpstreamCall, by which the llhttp client hands over its abort handle.
 */
export interface UpstreamHandler {
  /** undici: the request got a socket; `abort` cancels it. */
  onConnect(abort: (err?: Error) => void): void;
  /** llhttp client: the request was accepted (queued or sent); `call.abort` cancels it. */
  onUpstreamCall(call: UpstreamCall): void;
  /** Raw headers are latin1 strings from the llhttp client, Buffers from undici. False pauses reading. */
  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[], resume: () => void): boolean;
  /** False pauses reading until `resume` (from onHeaders) is called. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: string[] | null): void;
  /** Exactly once per request that did not complete, including after an abort. */
  onError(err: Error): void;
}

/** A backend's connections as the hot path uses them. */
export interface Upstream {
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void;
  /** Refuses new requests, lets running and queued ones finish, then releases every socket. */
  close(): Promise<void>;
}

/** undici's Pool behind the Upstream interface (UPSTREAM_CLIENT=undici). */
export class UndiciUpstream implements Upstream {
  constructor(readonly pool: Pool) {}

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    // undici takes a body's length only from a header; it frames a body without one as chunked.
    const options =
      request.contentLength < 0
        ? request
        : { ...request, headers: [...request.headers, 'content-length', String(request.contentLength)] };
    this.pool.dispatch(options as Dispatcher.DispatchOptions, handler as unknown as Dispatcher.DispatchHandler);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
