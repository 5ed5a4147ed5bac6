import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { ClientCloseListener, ClientSide, ClientTunnelEnd } from '../client-side.js';
import { LAST_CHUNK, stringChunk, writeChunk } from '../http1/chunked.js';
import { Framing, responseHead } from '../http1/framing.js';
import { NodeRequestFields } from '../node-request-fields.js';

/**
 * The node:http data plane's ClientSide for a request that may open a
 * tunnel. node:http hands such a request to its 'upgrade' listener with the
 * bare socket and no response object, so the answer is written here: a 101
 * and the tunnel, or any other answer (the server's refusal, the proxy's own
 * error) with the `net` plane's framing and then the close, since the
 * client asked to leave HTTP on this connection.
 */
export class UpgradeClientSide extends NodeRequestFields implements ClientSide {
  headersSent = false;
  responseEnded = false;
  private framing: Framing = Framing.Length;
  private pendingHead: string | null = null;
  private listener: ClientCloseListener | null = null;
  private taken = false;
  private readonly onClose = () => {
    if (!this.taken && !this.responseEnded) this.listener?.clientClosed();
  };

  constructor(
    req: IncomingMessage,
    /** What node:http read after the head: the start of the client's tunnel bytes. */
    private readonly head: Buffer,
    readonly upgrade: string,
  ) {
    super(req);
    this.socket.on('close', this.onClose);
    // Nothing after the head is read until the server has answered (see ClientConnection.keepTunnelBytes).
    this.socket.pause();
  }

  /** A tunnel request has no body (tunnelUpgrade refuses one that has). */
  requestBody(): Readable {
    return this.req;
  }
  get requestComplete(): boolean {
    return true;
  }
  sendContinue(): void {}
  get responseFinished(): boolean {
    return this.responseEnded && this.socket.writableFinished;
  }

  writeHead(status: number, headers: readonly string[]): void {
    const head = responseHead(status, headers, false, this.req.httpVersionMinor === 0, false);
    this.framing = head.framing;
    this.pendingHead = head.text;
    this.headersSent = true;
  }

  write(chunk: Buffer): boolean {
    const socket = this.socket;
    const head = this.pendingHead;
    this.pendingHead = null;
    if (this.framing === Framing.Chunked && chunk.length > 0) return writeChunk(socket, chunk, head);
    if (head !== null) socket.write(head, 'latin1');
    if (this.framing === Framing.None || chunk.length === 0) return !socket.writableNeedDrain;
    return socket.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.socket.once('drain', resume);
  }

  end(body?: string): void {
    if (this.responseEnded) return;
    const socket = this.socket;
    socket.cork();
    if (this.pendingHead !== null) socket.write(this.pendingHead, 'latin1');
    this.pendingHead = null;
    if (body !== undefined && body.length > 0 && this.framing !== Framing.None) {
      socket.write(this.framing === Framing.Chunked ? stringChunk(body) : body);
    }
    if (this.framing === Framing.Chunked) socket.write(LAST_CHUNK, 'latin1');
    socket.uncork();
    this.responseEnded = true;
    socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  watchClose(listener: ClientCloseListener): void {
    this.listener = listener;
  }

  takeSocket(): ClientTunnelEnd {
    this.taken = true;
    this.headersSent = true;
    this.responseEnded = true;
    this.socket.removeListener('close', this.onClose);
    return { socket: this.socket, head: this.head };
  }
}
