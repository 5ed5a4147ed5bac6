import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { ClientCloseListener, ClientSide } from './client-side.js';

const kListener = Symbol('ringmaster.closeListener');
type ResponseWithListener = ServerResponse & { [kListener]?: ClientCloseListener };

/** Shared 'close' listener, so no closure is allocated per request. */
function onResponseClose(this: ResponseWithListener): void {
  this[kListener]?.clientClosed();
}

/** The ClientSide of the node:http data plane: Node's request and response. */
export class HttpClientSide implements ClientSide {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {}

  get method(): string {
    return this.req.method as string;
  }
  get url(): string {
    return this.req.url ?? '/';
  }
  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }
  get remoteAddress(): string {
    return this.req.socket.remoteAddress ?? '';
  }
  requestBody(): Readable {
    return this.req;
  }
  get requestComplete(): boolean {
    return this.req.readableEnded;
  }
  sendContinue(): void {
    // Node's server answers Expect: 100-continue before the request reaches us.
  }
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  get responseEnded(): boolean {
    return this.res.writableEnded;
  }
  get responseFinished(): boolean {
    return this.res.writableFinished;
  }
  writeHead(status: number, headers: readonly string[]): void {
    // node:http takes a flat [name, value, …] list as well as an object.
    this.res.writeHead(status, headers as unknown as OutgoingHttpHeaders);
  }
  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }
  onDrain(resume: () => void): void {
    this.res.once('drain', resume);
  }
  end(body?: string): void {
    if (body === undefined) this.res.end();
    else this.res.end(body);
  }
  destroy(err?: Error): void {
    this.res.destroy(err);
  }
  watchClose(listener: ClientCloseListener): void {
    (this.res as ResponseWithListener)[kListener] = listener;
    this.res.on('close', onResponseClose);
  }
}
