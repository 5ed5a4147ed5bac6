import { describe, expect, it } from 'vitest';
import { readResponses } from '../fuzz/reference.js';

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
