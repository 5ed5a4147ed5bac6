import { describe, expect, it } from 'vitest';
import { tunnelUpgrade } from '#proxy/forwarding/tunnel/upgrade-request.js';
import { readRequests, readResponses, tunnelProtocols } from '../fuzz/reference.js';

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

const MAX_HEADER_BYTES = 16 * 1024;

/** The fuzzer's strict reading of what a client sent: where the bytes end. */
describe('the fuzzer reads the request side strictly', () => {
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

/** The oracle's own statement of which upgrades the proxy tunnels, held to the proxy's on one table. */
describe('the fuzzer knows which upgrade requests the proxy tunnels', () => {
  const UPGRADE = ['Connection', 'Upgrade', 'Upgrade', 'websocket'];
  const cases: [string, string, string[], string | undefined][] = [
    ['a WebSocket GET', 'GET', UPGRADE, 'websocket'],
    ['any method but HEAD and CONNECT', 'DELETE', UPGRADE, 'websocket'],
    ['HEAD', 'HEAD', UPGRADE, undefined],
    ['CONNECT', 'CONNECT', UPGRADE, undefined],
    ['a body by length', 'POST', [...UPGRADE, 'Content-Length', '5'], undefined],
    ['Content-Length: 0', 'POST', [...UPGRADE, 'content-length', ' 0 '], 'websocket'],
    ['a chunked body', 'GET', [...UPGRADE, 'Transfer-Encoding', 'chunked'], undefined],
    ['h2c', 'GET', ['Connection', 'Upgrade, HTTP2-Settings', 'Upgrade', 'h2c'], undefined],
    ['h2c in any case and version, among others', 'GET', ['Connection', 'upgrade', 'Upgrade', 'foo, H2C/1'], undefined],
    [
      'Connection listing upgrade among others',
      'GET',
      ['connection', 'keep-alive, UPGRADE', 'upgrade', 'foo/2'],
      'foo/2',
    ],
    ['Connection without upgrade', 'GET', ['Connection', 'keep-alive', 'Upgrade', 'websocket'], undefined],
    ['no Upgrade field', 'GET', ['Connection', 'upgrade'], undefined],
    ['an empty Upgrade', 'GET', ['Connection', 'upgrade', 'Upgrade', ' '], undefined],
    [
      'two Upgrade fields, joined',
      'GET',
      ['Upgrade', 'websocket', 'Connection', 'upgrade', 'Upgrade', 'foo'],
      'websocket, foo',
    ],
  ];
  it.each(cases)('%s', (_name, method, headers, protocols) => {
    expect(tunnelProtocols(method, headers)).toBe(protocols);
    expect(tunnelUpgrade(method, headers) ?? undefined).toBe(protocols);
  });

  it('reads the bytes after a tunnelled upgrade request as tunnel bytes, and marks one it serves as plain HTTP', () => {
    const head = 'GET /f/1.0 HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    const tail = 'frameGET /f/1.1 HTTP/1.1\r\nHost: t\r\n\r\n';
    const tunnel = readRequests(bytes(head + tail), MAX_HEADER_BYTES);
    expect(tunnel.requests.map((r) => r.url)).toEqual(['/f/1.0']);
    expect([tunnel.upgraded, tunnel.tunnel, tunnel.afterUpgrade.toString('latin1')]).toEqual([true, 'websocket', tail]);
    const head2 = readRequests(bytes(head.replace('GET', 'HEAD') + tail), MAX_HEADER_BYTES);
    expect([head2.upgraded, head2.tunnel, head2.afterUpgrade.toString('latin1')]).toEqual([true, undefined, tail]);
    const plain = readRequests(bytes('GET /f/1.0 HTTP/1.1\r\nHost: t\r\n\r\n'), MAX_HEADER_BYTES);
    expect([plain.upgraded, plain.tunnel, plain.afterUpgrade.length]).toEqual([false, undefined, 0]);
  });

  it('stops reading answers at a 101 and keeps what follows as tunnel bytes', () => {
    const reading = readResponses(
      bytes(
        'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok' +
          'HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\nTUNNEL1.1\nHTTP/1.1 200 OK\r\n',
      ),
      ['GET', 'GET'],
      true,
    );
    expect(reading.error).toBeUndefined();
    expect(reading.responses.map((r) => r.status)).toEqual([200]);
    expect(reading.switched?.response.status).toBe(101);
    expect(reading.switched?.response.headers).toEqual(['connection', 'upgrade', 'upgrade', 'websocket']);
    expect(reading.switched?.tunnel.toString('latin1')).toBe('TUNNEL1.1\nHTTP/1.1 200 OK\r\n');
  });
});
