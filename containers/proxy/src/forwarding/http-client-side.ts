import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { ClientCloseListener, ClientSide, ClientTunnelEnd } from './client-side.js';
import { NodeRequestFields } from './node-request-fields.js';

const kSide = Symbol('ringmaster.clientSide');
const kInOrder = Symbol('ringmaster.inOrder');
/** An answer that closes the connection has been ended on it: nothing more is answered there. */
const kClosing = Symbol('ringmaster.closing');
/** The request node:http parsed last on a connection. */
const kLast = Symbol('ringmaster.lastRequest');
type ResponseWithSide = ServerResponse & { [kSide]?: HttpClientSide };
/** Something to start once the requests before it on its connection are answered (an Exchange). */
interface Startable {
  start(): void;
}
/**
 * Per connection: undefined when no request is being answered, null when one
 * is and none waits, else the requests waiting their turn (rare: pipelining).
 */
type OrderedSocket = Socket & { [kInOrder]?: Startable[] | null; [kLast]?: IncomingMessage; [kClosing]?: true };

/**
 * node:http emits every pipelined request as soon as it parses it; the proxy
 * forwards them one at a time, each once the one before it has been answered,
 * as the `net` plane and nginx do. Otherwise a request pipelined behind one
 * the proxy refuses (an answer that closes the connection) would already be
 * on its way to a server, executed there and never answered.
 */
export function startInOrder(req: IncomingMessage, exchange: Startable): void {
  const socket = req.socket as OrderedSocket;
  // node:http still parses what arrives after an answer that closed the connection: never forwarded.
  if (socket.writableEnded || socket.destroyed) return;
  socket[kLast] = req;
  const waiting = socket[kInOrder];
  if (waiting === undefined) {
    socket[kInOrder] = null;
    exchange.start();
  } else if (waiting === null) socket[kInOrder] = [exchange];
  else waiting.push(exchange);
}

/**
 * Queues `answer` behind the requests still being answered on `socket`, if
 * any (true), so an answer the server writes itself (a parse error's 400)
 * never overtakes theirs; true as well when an answer that closes the
 * connection already went out (nothing more is said there); false when
 * nothing is in progress: answer now.
 */
export function answerInOrder(socket: Duplex, answer: () => void): boolean {
  const s = socket as OrderedSocket;
  // The connection's last answer closes it (a refusal): a second answer after it would be read as garbage.
  if (s[kClosing]) return true;
  const waiting = s[kInOrder];
  if (waiting === undefined) return false;
  // A request whose body broke (or timed out) is the last one node:http parsed.
  const broken = s[kLast]?.complete === false;
  // It is the one being answered: its Exchange is cut with the connection, so answer now.
  if (broken && (waiting === null || waiting.length === 0)) return false;
  // It waits its turn: it is never forwarded, and the answer takes its place.
  if (broken) (waiting as Startable[]).pop();
  const entry: Startable = { start: answer };
  if (waiting === null) s[kInOrder] = [entry];
  else waiting.push(entry);
  return true;
}

/** The request being answered on `socket` is done: start the next one, unless the connection is going away. */
function startNext(socket: OrderedSocket): void {
  const waiting = socket[kInOrder];
  if (waiting === undefined || waiting === null || socket.destroyed || socket.writableEnded) {
    // Nothing waits, or the answer closed the connection: node:http answers nothing more on it.
    socket[kInOrder] = undefined;
    return;
  }
  const next = waiting.shift() as Startable;
  if (waiting.length === 0) socket[kInOrder] = null;
  next.start();
}

/** Shared 'close' listener, so no closure is allocated per request. */
function onResponseClose(this: ResponseWithSide): void {
  const side = this[kSide];
  if (side === undefined) return;
  side.listener?.clientClosed();
  startNext(side.socket);
}

/** The ClientSide of the node:http data plane: Node's request and response. */
export class HttpClientSide extends NodeRequestFields implements ClientSide {
  listener: ClientCloseListener | undefined;
  /** node:http hands a request that may open a tunnel to the 'upgrade' listener instead (tunnel/upgrade-client-side.ts). */
  readonly upgrade = null;
  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    super(req);
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
    // node:http marks a response that closes the connection (a `connection: close` header) `_last`.
    if ((this.res as ServerResponse & { _last?: boolean })._last === true)
      (this.socket as OrderedSocket)[kClosing] = true;
  }
  destroy(err?: Error): void {
    this.res.destroy(err);
  }
  watchClose(listener: ClientCloseListener): void {
    this.listener = listener;
    (this.res as ResponseWithSide)[kSide] = this;
    this.res.on('close', onResponseClose);
  }
  takeSocket(): ClientTunnelEnd {
    throw new Error('a request node:http emitted as a request never opens a tunnel');
  }
}
