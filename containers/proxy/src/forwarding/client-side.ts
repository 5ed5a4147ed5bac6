import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** Told when the client goes away before its response has ended. */
export interface ClientCloseListener {
  clientClosed(): void;
}

/**
 * The client half of one exchange, as the Exchange needs it, whichever data
 * plane carries it: node:http's request and response (HttpClientSide) or the
 * proxy's own connection handling (NetClientRequest). Keeping the Exchange
 * on this surface is what lets both data planes share its retries, budget and
 * fleet bookkeeping instead of copying them.
 */
export interface ClientSide {
  readonly method: string;
  readonly url: string;
  /** Flat [name, value, …] list as the client sent it. */
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
  /** An HTTP/1.1 request whose Host the data plane has not checked yet (node:http's; the net plane checks its own). */
  readonly needsHostCheck: boolean;
  /** The request body as a stream; asked for only when the head declares a body. */
  requestBody(): Readable;
  /** The request body has been read to its end (or there was none). */
  readonly requestComplete: boolean;
  /** Interim `100 Continue`, for data planes that do not send it themselves. */
  sendContinue(): void;
  readonly headersSent: boolean;
  /** end() has been called. */
  readonly responseEnded: boolean;
  /** The response has been ended and handed to the kernel. */
  readonly responseFinished: boolean;
  writeHead(status: number, headers: readonly string[]): void;
  /** False when the client is slower than we write: wait for onDrain. */
  write(chunk: Buffer): boolean;
  /** Calls `resume` once, when the client has drained what was written. */
  onDrain(resume: () => void): void;
  end(body?: string): void;
  /** Cuts the client connection: the only signal left once the status is sent. */
  destroy(err?: Error): void;
  /** Registers the one listener told when the client goes away (no closure per request). */
  watchClose(listener: ClientCloseListener): void;
  /**
   * The Upgrade protocols when the data plane lets this request open a
   * tunnel (tunnel/upgrade-request.ts decides), else null: the request is
   * then plain HTTP, its Upgrade dropped.
   */
  readonly upgrade: string | null;
  /**
   * For a tunnel whose server said 101: the client connection leaves HTTP
   * and becomes the caller's, with the bytes the client sent after its head.
   * Only once every answer before it on the connection has gone out.
   */
  takeSocket(): ClientTunnelEnd;
}

/** The client's end of a tunnel: its socket, and what it sent after the request head. */
export interface ClientTunnelEnd {
  readonly socket: Socket;
  readonly head: Buffer;
}
