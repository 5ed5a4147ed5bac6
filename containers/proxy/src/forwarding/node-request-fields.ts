import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The request half of a ClientSide on the node:http data plane: what the
 * Exchange reads of node:http's parsed request, shared by the plain
 * request's side (HttpClientSide) and the upgrade's (UpgradeClientSide).
 */
export abstract class NodeRequestFields {
  /** The client connection, kept here: node:http detaches it from the request once answered. */
  readonly socket: Socket;

  constructor(protected readonly req: IncomingMessage) {
    this.socket = req.socket;
  }

  get method(): string {
    return this.req.method as string;
  }
  get url(): string {
    return this.req.url ?? '/';
  }
  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }
  /** node:http's requireHostHeader is off: the Exchange checks an HTTP/1.1 request's Host itself, in order. */
  get needsHostCheck(): boolean {
    return this.req.httpVersionMinor === 1 && this.req.httpVersionMajor === 1;
  }
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }
}
