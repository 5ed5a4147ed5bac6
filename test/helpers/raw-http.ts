import { connect, type Socket } from 'node:net';

/** What a client saw on one raw connection. */
export interface RawOutcome {
  /** Everything received, latin1. */
  readonly text: string;
  /** The proxy closed the connection (FIN or reset) before the wait ran out. */
  readonly closed: boolean;
  /** The connection was reset (ECONNRESET / EPIPE) rather than closed cleanly. */
  readonly reset: boolean;
}

/** A step of a raw conversation: bytes to write, or a pause. */
export type RawStep = string | Buffer | { readonly pauseMs: number };

/**
 * Writes `steps` to 127.0.0.1:`port` and collects what comes back until the
 * proxy closes the connection or `waitMs` passes (then we close it).
 * `until`, when given, ends the wait early once the received text satisfies it.
 */
export function rawConversation(
  port: number,
  steps: readonly RawStep[],
  waitMs: number,
  until?: (text: string) => boolean,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let text = '';
    let reset = false;
    let closedByPeer = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed: closedByPeer, reset });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (until?.(text)) finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
      closedByPeer = true;
    });
    socket.on('end', () => {
      closedByPeer = true;
    });
    socket.on('close', () => {
      closedByPeer = closedByPeer || !settled;
      finish();
    });
    (async () => {
      for (const step of steps) {
        if (settled || socket.destroyed) return;
        if (typeof step === 'string' || Buffer.isBuffer(step)) socket.write(step);
        else await new Promise((r) => setTimeout(r, step.pauseMs));
      }
    })();
  });
}

export interface ParsedResponse {
  readonly status: number;
  /** Header names lower-cased; repeated headers joined with ', '. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Splits a byte stream into HTTP/1.1 responses, framing each body the way a
 * client must (RFC 9112 §6.3): none for HEAD, 1xx, 204 and 304, else
 * Content-Length, chunked, or up to the close. `methods` are the requests'
 * methods in order. A response cut short is left out.
 */
export function parseResponses(text: string, methods: readonly string[]): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let at = 0;
  let request = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = text.slice(at, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? Number.NaN);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let bodyStart = headEnd + 4;
    let body = '';
    const method = methods[request] ?? 'GET';
    if (status >= 100 && status < 200) {
      out.push({ status, headers, body });
      at = bodyStart;
      continue; // an interim response: the final one for the same request follows
    }
    request++;
    if (method === 'HEAD' || status === 204 || status === 304) {
      // no body
    } else if (headers['transfer-encoding']?.includes('chunked')) {
      let complete = false;
      for (;;) {
        const lineEnd = text.indexOf('\r\n', bodyStart);
        if (lineEnd < 0) break;
        const size = Number.parseInt(text.slice(bodyStart, lineEnd), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          const trailerEnd = text.indexOf('\r\n\r\n', lineEnd);
          bodyStart = trailerEnd < 0 ? text.length : trailerEnd + 4;
          complete = trailerEnd >= 0;
          break;
        }
        body += text.slice(lineEnd + 2, lineEnd + 2 + size);
        bodyStart = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (text.length < bodyStart + length) break;
      body = text.slice(bodyStart, bodyStart + length);
      bodyStart += length;
    } else {
      body = text.slice(bodyStart);
      bodyStart = text.length;
    }
    out.push({ status, headers, body });
    at = bodyStart;
  }
  return out;
}
