import { STATUS_CODES } from 'node:http';
import { equalsLower } from '../request-head.js';

/**
 * The heads the proxy writes, on both sides of the codec, with the framing
 * decided here (RFC 9112 §6) rather than copied from the other side: a
 * forwarded request is framed by the body the proxy parsed, never by a
 * header value the client sent (issue 14: a Connection-listed
 * Content-Length once left a body unframed); a response by its status, the
 * request's method and whether its length is known. nginx and HAProxy
 * rebuild framing the same way.
 */

/** How a response body is delimited on the client connection (RFC 9112 §6). */
export enum Framing {
  /** HEAD, 1xx, 204, 304: no body whatever the headers say. */
  None = 0,
  Length = 1,
  Chunked = 2,
  /** HTTP/1.0 client, unknown length: the close ends the body. */
  Close = 3,
}

export interface ResponseHead {
  readonly text: string;
  readonly framing: Framing;
  readonly keepAlive: boolean;
}

const STATUS_LINES: string[] = [];
function statusLine(status: number): string {
  let line = STATUS_LINES[status];
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    if (status >= 100 && status < 600) STATUS_LINES[status] = line;
  }
  return line;
}

/**
 * Server side: the response head as one latin1 string: status line, the headers given
 * (minus Connection, which is decided here), then the framing and the
 * connection's fate. `keepAlive` is what the request allows; a `connection:
 * close` among the headers (draining, errors) or a close-delimited body
 * turns it off.
 */
export function responseHead(
  status: number,
  headers: readonly string[],
  isHead: boolean,
  http10: boolean,
  keepAlive: boolean,
): ResponseHead {
  let text = statusLine(status);
  let hasLength = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (name.length === 10 && equalsLower(name, 'connection')) {
      if (value.toLowerCase().includes('close')) keepAlive = false;
      continue;
    }
    if (name.length === 14 && equalsLower(name, 'content-length')) hasLength = true;
    text += `${name}: ${value}\r\n`;
  }
  let framing: Framing;
  if (isHead || status === 204 || status === 304 || status < 200) framing = Framing.None;
  else if (hasLength) framing = Framing.Length;
  else if (!http10) {
    framing = Framing.Chunked;
    text += 'transfer-encoding: chunked\r\n';
  } else {
    framing = Framing.Close;
    keepAlive = false;
  }
  if (!keepAlive) text += 'connection: close\r\n';
  else if (http10) text += 'connection: keep-alive\r\n';
  return { text: `${text}\r\n`, framing, keepAlive };
}

/** Methods for which a request without a body still says `content-length: 0` (as undici does). */
const EXPECTS_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Client side: the request head as one latin1 string: request line, the
 * forwarded headers (which carry no framing field: the Exchange leaves them
 * out), `host` when the client sent none (HTTP/1.0), then the framing of the
 * body the proxy parsed: `content-length` when its length is known,
 * `transfer-encoding: chunked` for a body of unknown length, and
 * `content-length: 0` for a POST, PUT or PATCH without a body. A request the
 * proxy tunnels says `connection: upgrade` and its `upgrade` protocols (it
 * has no body: only bodiless requests are tunnelled).
 */
export function requestHead(
  method: string,
  path: string,
  headers: readonly string[],
  defaultHost: string,
  contentLength: number,
  hasBody: boolean,
  upgrade: string | null = null,
): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 4 && equalsLower(name, 'host')) hasHost = true;
    head += `${name}: ${headers[i + 1] as string}\r\n`;
  }
  if (!hasHost) head += `host: ${defaultHost}\r\n`;
  if (contentLength >= 0) head += `content-length: ${contentLength}\r\n`;
  else if (hasBody) head += 'transfer-encoding: chunked\r\n';
  else if (EXPECTS_PAYLOAD.has(method)) head += 'content-length: 0\r\n';
  if (upgrade !== null) head += `connection: upgrade\r\nupgrade: ${upgrade}\r\n`;
  return `${head}\r\n`;
}

/**
 * Server side, either data plane: an answer the proxy gives itself before
 * any Exchange (a request it could not parse, a timeout, CONNECT), as JSON
 * in the API's error shape, then the close. `headOnly` answers a HEAD
 * request: a body would be read as the next response.
 */
export function closingReply(status: number, reason: string, code: string, headOnly = false): string {
  const body = JSON.stringify({ message: reason, status: 'failure', code });
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${headOnly ? '' : body}`;
}
