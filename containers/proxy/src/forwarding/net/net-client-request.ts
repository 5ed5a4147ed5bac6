import type { Readable } from 'node:stream';
import type { ClientCloseListener, ClientSide, ClientTunnelEnd } from '../client-side.js';
import { LAST_CHUNK, stringChunk, writeChunk } from '../http1/chunked.js';
import { Framing, responseHead } from '../http1/framing.js';
import type { ClientConnection } from './client-connection.js';
import { RequestBody } from './request-body.js';

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

/**
 * One request on a `net` data-plane connection, and the ClientSide its
 * Exchange answers through. Body bytes that arrive before the Exchange asks
 * for the stream (a pipelined request waiting its turn) are held here; the
 * connection stops reading while a request waits, which bounds them.
 */
export class NetClientRequest implements ClientSide {
  /** Set by the connection when the parser has seen the whole request. */
  requestComplete = false;
  headersSent = false;
  responseEnded = false;
  private body: RequestBody | null = null;
  private early: Buffer[] | null = null;
  private framing: Framing = Framing.Length;
  private keepAlive: boolean;
  private pendingHead: string | null = null;
  private listener: ClientCloseListener | null = null;
  private discarding = false;

  constructor(
    private readonly connection: ClientConnection,
    readonly method: string,
    readonly url: string,
    readonly rawHeaders: readonly string[],
    private readonly http10: boolean,
    keepAlive: boolean,
    /** The Upgrade protocols when this request may open a tunnel (it then never keeps the connection alive). */
    readonly upgrade: string | null = null,
  ) {
    this.keepAlive = keepAlive;
  }

  /** The connection refuses an HTTP/1.1 request without Host before it gets here. */
  get needsHostCheck(): boolean {
    return false;
  }

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  get responseFinished(): boolean {
    return this.responseEnded;
  }

  /** Whether the connection may carry another request after this one. */
  get keepsAlive(): boolean {
    return this.keepAlive;
  }

  /** The client went away, or the connection had to be cut, before the response ended. */
  abandon(): void {
    if (this.body !== null && !this.body.destroyed) this.body.destroy();
    if (!this.responseEnded) this.listener?.clientClosed();
  }

  /**
   * Fails the body stream, so the Exchange answers with `err`'s status (or
   * cuts the connection). False when nothing reads the body: then there is
   * no one to answer and the caller cuts the connection.
   */
  failBody(err: Error): boolean {
    const body = this.body;
    if (body === null || body.destroyed || body.listenerCount('error') === 0) return false;
    body.destroy(err);
    return true;
  }

  /** The response went out before the body was all in: drop the rest as it arrives. */
  discardBody(): void {
    this.early = null;
    if (this.body !== null && !this.body.destroyed) this.body.destroy();
    this.discarding = true;
  }

  // --- request side, fed by the connection's parser ---

  pushBody(chunk: Buffer): boolean {
    if (this.discarding) return true;
    if (this.body === null) {
      if (this.early === null) this.early = [chunk];
      else this.early.push(chunk);
      return true;
    }
    return this.body.destroyed || this.body.push(chunk);
  }

  endBody(): void {
    this.requestComplete = true;
    if (this.body !== null) this.body.push(null);
  }

  // --- ClientSide ---

  requestBody(): Readable {
    if (this.body !== null) return this.body;
    const body = new RequestBody(this.connection);
    this.body = body;
    if (this.early !== null) for (const chunk of this.early) body.push(chunk);
    this.early = null;
    if (this.requestComplete) body.push(null);
    return body;
  }

  sendContinue(): void {
    if (!this.http10 && !this.requestComplete) this.connection.socket.write(CONTINUE, 'latin1');
  }

  writeHead(status: number, headers: readonly string[]): void {
    const head = responseHead(status, headers, this.method === 'HEAD', this.http10, this.keepAlive);
    this.framing = head.framing;
    // The connection closes after its last queued answer; answers before it (requests pipelined ahead of the
    // one that said close, or of a refusal) keep it open, or the requests between would never be answered.
    this.keepAlive = head.keepAlive && !this.connection.closesAfter(this);
    // Held until the first body write or end(), so head and body leave in one writev.
    this.pendingHead = head.text;
    this.headersSent = true;
  }

  write(chunk: Buffer): boolean {
    const socket = this.connection.socket;
    if (this.framing === Framing.None || chunk.length === 0) {
      this.flushHead();
      return !socket.writableNeedDrain;
    }
    if (this.framing !== Framing.Chunked) {
      const head = this.pendingHead;
      if (head === null) return socket.write(chunk);
      // Head and first chunk in one buffer: one write(2), and no cork/writev bookkeeping.
      this.pendingHead = null;
      const joined = Buffer.allocUnsafe(head.length + chunk.length);
      joined.write(head, 0, 'latin1');
      chunk.copy(joined, head.length);
      return socket.write(joined);
    }
    const head = this.pendingHead;
    this.pendingHead = null;
    return writeChunk(socket, chunk, head);
  }

  onDrain(resume: () => void): void {
    this.connection.socket.once('drain', resume);
  }

  end(body?: string): void {
    if (this.responseEnded) return;
    const socket = this.connection.socket;
    socket.cork();
    this.flushHead();
    if (body !== undefined && body.length > 0 && this.framing !== Framing.None) {
      if (this.framing === Framing.Chunked) socket.write(stringChunk(body));
      else socket.write(body);
    }
    if (this.framing === Framing.Chunked) socket.write(LAST_CHUNK, 'latin1');
    socket.uncork();
    this.responseEnded = true;
    this.connection.responseEnded(this);
  }

  destroy(): void {
    this.connection.socket.destroy();
  }

  watchClose(listener: ClientCloseListener): void {
    this.listener = listener;
  }

  takeSocket(): ClientTunnelEnd {
    this.headersSent = true;
    this.responseEnded = true;
    return this.connection.detachForTunnel(this);
  }

  private flushHead(): void {
    if (this.pendingHead === null) return;
    this.connection.socket.write(this.pendingHead, 'latin1');
    this.pendingHead = null;
  }
}
