import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cookieValue, parseKeySource, pathOf, queryParam } from '#core/routing/key-source.js';
import { parseDemand } from '#proxy/forwarding/demand.js';
import { responseHeaders, scanRequestHead } from '#proxy/forwarding/request-head.js';

describe('queryParam', () => {
  it('finds the assignments’ request_id', () => {
    expect(queryParam('/home?request_id=123', 'request_id')).toBe('123');
    expect(queryParam('/home?a=1&request_id=9&b=2', 'request_id')).toBe('9');
    expect(queryParam('/home?xrequest_id=9', 'request_id')).toBeUndefined();
    expect(queryParam('/home?request_id=', 'request_id')).toBeUndefined();
    expect(queryParam('/home#request_id=1', 'request_id')).toBeUndefined();
    expect(queryParam('/home?request_id=5#frag', 'request_id')).toBe('5');
    expect(queryParam('/home', 'request_id')).toBeUndefined();
  });

  it('agrees with URLSearchParams on generated query strings', () => {
    const word = fc.stringMatching(/^[a-z_]{1,6}$/);
    const value = fc.stringMatching(/^[a-zA-Z0-9]{1,8}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(word, value), { maxLength: 6 }), word, (pairs, name) => {
        const url = `/p?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
        const expected = new URLSearchParams(url.slice(3)).get(name) ?? undefined;
        expect(queryParam(url, name)).toBe(expected === '' ? undefined : expected);
      }),
    );
  });
});

describe('key sources', () => {
  it('parses every documented form and rejects others with the reason', () => {
    expect(parseKeySource('query:request_id')).toEqual({ kind: 'query', name: 'request_id' });
    expect(parseKeySource('header:X-User')).toEqual({ kind: 'header', name: 'x-user' });
    expect(parseKeySource('cookie:sid')).toEqual({ kind: 'cookie', name: 'sid' });
    expect(parseKeySource('path')).toEqual({ kind: 'path' });
    expect(parseKeySource('client-ip')).toEqual({ kind: 'client-ip' });
    expect(() => parseKeySource('body:x')).toThrow(/expected query:<name>.*got "body:x"/);
    expect(() => parseKeySource('header:')).toThrow(/expected/);
  });

  it('reads cookies and paths', () => {
    expect(cookieValue('a=1; sid=abc; b=2', 'sid')).toBe('abc');
    expect(cookieValue('xsid=1', 'sid')).toBeUndefined();
    expect(pathOf('/a/b?c=d')).toBe('/a/b');
  });
});

describe('request head scan', () => {
  it('drops hop-by-hop headers, keeps the rest, notes framing and ids', () => {
    const head = scanRequestHead(
      [
        'Host',
        'example.test',
        'Connection',
        'keep-alive, X-Hop',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Transfer-Encoding',
        'chunked',
        'X-Hop',
        'secret',
        'X-Request-Id',
        'abc-123',
        'X-Forwarded-For',
        '10.0.0.1',
        'Accept',
        '*/*',
        'Proxy-Authorization',
        'Basic x',
        'Expect',
        '100-continue',
        'X-User',
        'alice',
      ],
      'x-user',
      'x-ringmaster-demand',
    );
    expect(head.headers).toEqual(['Host', 'example.test', 'Accept', '*/*', 'X-User', 'alice']);
    expect(head.chunked).toBe(true);
    expect(head.requestId).toBe('abc-123');
    expect(head.forwardedFor).toBe('10.0.0.1');
    expect(head.keyHeader).toBe('alice');
    expect(head.host).toBe('example.test');
  });

  it('refuses request ids that are unsafe to log', () => {
    expect(scanRequestHead(['x-request-id', 'a b\u0000'], '', 'd').requestId).toBeUndefined();
    expect(scanRequestHead(['x-request-id', 'x'.repeat(129)], '', 'd').requestId).toBeUndefined();
  });

  it('reads content-length and never forwards it: the upstream client writes the framing', () => {
    const head = scanRequestHead(['Host', 't', 'Content-Length', '42'], '', 'd');
    expect(head.contentLength).toBe(42);
    expect(head.headers).toEqual(['Host', 't']);
    expect(scanRequestHead([], '', 'd').contentLength).toBe(-1);
  });

  it('notes a Connection option naming a framing or routing field (the request is refused), whatever its case', () => {
    const issue14 = ['Host', 't', 'Connection', 'keep-alive, Content-Length', 'Content-Length', '35'];
    expect(scanRequestHead(issue14, '', 'd').connectionNamesFraming).toBe('content-length');
    for (const listed of ['TRANSFER-ENCODING', ' host ', 'close,Host', 'x-a, content-length']) {
      const head = scanRequestHead(['Host', 't', 'Connection', listed], '', 'd');
      expect(head.connectionNamesFraming, listed).toMatch(/^(transfer-encoding|host|content-length)$/);
    }
    // Two Connection fields are one list: the second cannot hide the first.
    const split = scanRequestHead(['Connection', 'content-length', 'Connection', 'keep-alive, x-a'], '', 'd');
    expect(split.connectionNamesFraming).toBe('content-length');
    expect(scanRequestHead(['Connection', 'keep-alive, TE, Upgrade'], '', 'd').connectionNamesFraming).toBeUndefined();
  });

  it("a Connection option cannot strip the proxy's own fields, and strips every other listed field", () => {
    const head = scanRequestHead(
      [
        'Host',
        't',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'h',
        'X-A',
        '1',
        'x-b',
        '2',
        'Connection',
        'X-Forwarded-Proto, x-forwarded-host, X-Forwarded-For, X-Request-Id, x-a',
        'Connection',
        'X-B',
      ],
      '',
      'd',
    );
    expect(head.connectionNamesFraming).toBeUndefined();
    expect(head.headers).toEqual(['Host', 't', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'h']);
    expect(head.forwardedProto).toBe(true);
    expect(head.forwardedHost).toBe(true);
  });

  it('strips hop-by-hop response headers and sets our request id', () => {
    const raw = [
      'Connection',
      'keep-alive',
      'Content-Type',
      'text/plain',
      'Transfer-Encoding',
      'chunked',
      'X-Request-Id',
      'theirs',
    ].map((s) => Buffer.from(s));
    expect(responseHeaders(raw, 'ours')).toEqual(['Content-Type', 'text/plain', 'x-request-id', 'ours']);
  });
});

describe('declared demand', () => {
  it('parses cpu:storage fractions and ignores malformed values', () => {
    expect(parseDemand('0.2:0.05')).toEqual({ cpu: 0.2, storage: 0.05 });
    expect(parseDemand('2:0')).toEqual({ cpu: 0, storage: 0 });
    expect(parseDemand('abc')).toEqual({ cpu: 0, storage: 0 });
    expect(parseDemand(undefined)).toEqual({ cpu: 0, storage: 0 });
  });
});
