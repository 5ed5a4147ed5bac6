import type { Socket } from 'node:net';

/**
 * Chunked transfer coding (RFC 9112 §7.1) as the proxy writes it, on either
 * side: request bodies of unknown length sent upstream, and response bodies
 * of unknown length sent to HTTP/1.1 clients. Trailers are never written.
 */

/** The last chunk and the empty trailer section that end a chunked body. */
export const LAST_CHUNK = '0\r\n\r\n';
const CRLF = '\r\n';

/**
 * Writes one chunk (size line, data, CRLF), after `head` when the message's
 * head is still unwritten, corked so they leave in one writev. The caller
 * never passes an empty chunk: that would be the last chunk. Returns what
 * the socket's last write returned (false: wait for 'drain').
 */
export function writeChunk(socket: Socket, chunk: Buffer, head: string | null = null): boolean {
  socket.cork();
  if (head !== null) socket.write(head, 'latin1');
  socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
  socket.write(chunk);
  const ok = socket.write(CRLF, 'latin1');
  socket.uncork();
  return ok;
}

/** A whole string body as one chunk (its size counted in UTF-8 bytes, as it is written). */
export function stringChunk(body: string): string {
  return `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`;
}
