import { describe, expect, it } from 'vitest';
import { readRequests, readResponses } from '../fuzz/reference.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const TIMEOUT_BODY = '{"code":"ERR_HTTP_REQUEST_TIMEOUT"}';
const timeout408 = (connection: string) =>
  `HTTP/1.1 408 Request Timeout\r\ncontent-length: ${TIMEOUT_BODY.length}\r\n${connection}\r\n${TIMEOUT_BODY}`;

/** The fuzzer's strict reading of what a client received: the rule for HEAD answers and its one exception. */
describe('the fuzzer reads the client side strictly', () => {
  it('refuses a body on an answer to a HEAD', () => {
    const reading = readResponses(
      bytes('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
      ['HEAD', 'GET'],
      false,
    );
    expect(reading.error).toBeDefined();
  });

  it('reads a 408 that closes the connection with its body, even after a HEAD whose head may not have been read', () => {
    const reading = readResponses(bytes(timeout408('connection: close\r\n')), ['HEAD'], true);
    expect(reading.error).toBeUndefined();
    expect(reading.responses.map((r) => [r.status, r.body.toString()])).toEqual([[408, TIMEOUT_BODY]]);
  });

  it('keeps the HEAD rule for a 408 that keeps the connection open (a later answer could be misread)', () => {
    const reading = readResponses(bytes(timeout408('')), ['HEAD', 'GET'], false);
    expect(reading.error).toBeDefined();
  });

  it('keeps the HEAD rule for an answer that is not a 408', () => {
    const reading = readResponses(
      bytes('HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}'),
      ['HEAD'],
      true,
    );
    expect(reading.error).toBeDefined();
  });
});

/** The fuzzer's strict reading of what a client sent: where the bytes end. */
describe('the fuzzer reads the request side strictly', () => {
  const MAX_HEADER_BYTES = 16 * 1024;

  it('says when the bytes end inside a head (a request begun, which a server may time out)', () => {
    const reading = readRequests(bytes('GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\n'), MAX_HEADER_BYTES);
    expect(reading.requests.map((r) => r.url)).toEqual(['/a']);
    expect(reading.partialHead).toBe(true);
  });

  it('says nothing of the kind when the bytes end between messages or inside a body', () => {
    expect(readRequests(bytes('GET /a HTTP/1.1\r\nHost: t\r\n\r\n'), MAX_HEADER_BYTES).partialHead).toBe(false);
    const inBody = readRequests(bytes('POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab'), MAX_HEADER_BYTES);
    expect(inBody.partialHead).toBe(false);
    expect(inBody.requests.map((r) => [r.url, r.complete])).toEqual([['/a', false]]);
  });
});
