import { STATUS_CODES } from 'node:http';
import { equalsLower } from '../request-head.js';

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
 * The response head as one latin1 string: status line, the headers given
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
