import type { Socket } from 'node:net';
import {
  createParser,
  type HttpParser,
  type LlhttpBinding,
  type OnBody,
  type OnHeaders,
  type OnHeadersComplete,
} from './llhttp.js';

/**
 * The base both sides of the codec share, in Envoy's shape (one HTTP/1
 * codec, a server and a client connection over a common base, the pool
 * apart): one socket, one strict llhttp parser of requests (server side) or
 * responses (client side), the wiring between them, and the accumulation of
 * a head llhttp delivers in parts.
 *
 * Nothing here allocates per request or per connection beyond the parser:
 * the parser callbacks and socket listeners are module-level functions whose
 * `this` (the parser or the socket) is tagged with its connection.
 */

const kConnection = Symbol('ringmaster.http1.connection');

/** An object (parser, socket, body stream) tagged with the connection it belongs to. */
export type Tagged<T> = T & { [kConnection]: Http1Connection };

/** Tags `target` with `connection`, so a shared module-level listener finds it through `connectionOf`. */
export function tag<T extends object>(target: T, connection: Http1Connection): Tagged<T> {
  const tagged = target as Tagged<T>;
  tagged[kConnection] = connection;
  return tagged;
}

/** The connection `tag` gave `target`. */
export function connectionOf<C extends Http1Connection>(target: object): C {
  return (target as Tagged<object>)[kConnection] as C;
}

// Parser callbacks shared by every connection of both sides: `this` is the parser.
const onHeaders: OnHeaders = function (this: HttpParser, headers, url) {
  (this as Tagged<HttpParser>)[kConnection].partialHeaders(headers, url);
};
const onHeadersComplete: OnHeadersComplete = function (
  this: HttpParser,
  major,
  minor,
  headers,
  method,
  url,
  statusCode,
  _statusMessage,
  upgrade,
  keepAlive,
) {
  return (this as Tagged<HttpParser>)[kConnection].headersComplete(
    major,
    minor,
    headers,
    method,
    url,
    statusCode,
    upgrade,
    keepAlive,
  );
};
const onBody: OnBody = function (this: HttpParser, chunk) {
  (this as Tagged<HttpParser>)[kConnection].body(chunk);
};
function onMessageComplete(this: HttpParser): void {
  (this as Tagged<HttpParser>)[kConnection].messageComplete();
}
const PARSER_CALLBACKS = { onHeaders, onHeadersComplete, onBody, onMessageComplete };

// Socket listeners shared likewise: `this` is the socket.
function onSocketData(this: Tagged<Socket>, chunk: Buffer): void {
  this[kConnection].data(chunk);
}
function onSocketEnd(this: Tagged<Socket>): void {
  this[kConnection].ended();
}
function onSocketError(this: Tagged<Socket>, err: Error): void {
  this[kConnection].socketError(err);
}
function onSocketClose(this: Tagged<Socket>): void {
  this[kConnection].closed();
}

export abstract class Http1Connection {
  protected readonly parser: HttpParser;
  /** Header fields llhttp delivered before the head ended (more than 32 fields, or a head split across reads). */
  private headerParts: string[] | null = null;
  /** The request target delivered with them (server side; a response has none). */
  private urlParts = '';

  /** `type` is the binding's REQUEST (server side) or RESPONSE (client side). */
  constructor(
    readonly socket: Socket,
    llhttp: LlhttpBinding,
    type: number,
    maxHeaderBytes: number,
  ) {
    this.parser = tag(createParser(llhttp, type, maxHeaderBytes, PARSER_CALLBACKS), this);
    tag(socket, this);
    // An upstream socket reads through `onread` instead and never emits 'data'; the listener still
    // keeps its stream flowing, which is what lets it emit 'end' when the server closes.
    socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  }

  /**
   * Hands the socket over (a tunnel takes it after a 101): the codec stops
   * listening to it and frees its parser; the socket itself stays open.
   */
  protected detachSocket(): void {
    const socket = this.socket;
    socket.removeListener('data', onSocketData);
    socket.removeListener('end', onSocketEnd);
    socket.removeListener('error', onSocketError);
    socket.removeListener('close', onSocketClose);
    this.parser.close();
  }

  /** A message's head has been delivered and its body is being parsed. */
  protected abstract get readingBody(): boolean;

  /** The socket delivered bytes. */
  abstract data(chunk: Buffer): void;
  /** The peer closed its side. */
  abstract ended(): void;
  /** The socket failed; 'close' follows and does the cleanup. */
  abstract socketError(err: Error): void;
  /** The socket closed. */
  abstract closed(): void;
  /**
   * A message's head ended. Returns what llhttp expects of onHeadersComplete:
   * 0 to read a body, 1 to skip it (a HEAD answer, 204, 304, a 1xx).
   */
  abstract headersComplete(
    major: number,
    minor: number,
    headers: string[] | undefined,
    methodIndex: number,
    url: string | undefined,
    statusCode: number,
    upgrade: boolean,
    keepAlive: boolean,
  ): number;
  /** A piece of the message's body, chunked framing already removed. */
  abstract body(chunk: Buffer): void;
  abstract messageComplete(): void;

  partialHeaders(headers: string[], url: string): void {
    // After a head, these are a chunked body's trailers, which node's binding hands over through the
    // same callback: dropped (as node:http drops them from forwarding), never the next message's head.
    if (this.readingBody) return;
    // llhttp hands over headers 32 pairs at a time when a head has more.
    if (this.headerParts === null) this.headerParts = headers;
    else for (const h of headers) this.headerParts.push(h);
    this.urlParts += url;
  }

  /** The head's whole header list: any parts delivered before, then `headers` (from headersComplete). */
  protected takeHeaders(headers: string[] | undefined): string[] {
    const parts = this.headerParts;
    if (parts === null) return headers ?? [];
    this.headerParts = null;
    return parts.concat(headers ?? []);
  }

  /** The head's whole request target: any part delivered before, then `url` (from headersComplete). */
  protected takeUrl(url: string | undefined): string | undefined {
    const parts = this.urlParts;
    if (parts === '') return url;
    this.urlParts = '';
    return parts + (url ?? '');
  }

  /** Forgets a head's parts (a new message begins). */
  protected resetHead(): void {
    this.headerParts = null;
    this.urlParts = '';
  }
}
