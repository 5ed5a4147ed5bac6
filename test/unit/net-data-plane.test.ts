import { describe, expect, it } from 'vitest';
import { Framing, responseHead } from '#proxy/forwarding/http1/framing.js';
import { loadLlhttp } from '#proxy/forwarding/http1/llhttp.js';

describe('net data plane', () => {
  it("finds Node's bundled llhttp and it passes the start-up self-test", () => {
    const llhttp = loadLlhttp();
    expect(llhttp.methods).toContain('GET');
    expect(typeof llhttp.kOnHeadersComplete).toBe('number');
  });

  it('frames responses as RFC 9112 §6 says', () => {
    const fixed = responseHead(200, ['content-length', '2', 'x-a', 'b'], false, false, true);
    expect(fixed.framing).toBe(Framing.Length);
    expect(fixed.text).toBe('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-a: b\r\n\r\n');
    expect(responseHead(200, [], false, false, true)).toMatchObject({ framing: Framing.Chunked, keepAlive: true });
    expect(responseHead(200, [], false, true, true)).toMatchObject({ framing: Framing.Close, keepAlive: false });
    expect(responseHead(200, ['content-length', '9'], true, false, true).framing).toBe(Framing.None);
    expect(responseHead(204, [], false, false, true).framing).toBe(Framing.None);
    expect(responseHead(304, [], false, false, true).framing).toBe(Framing.None);
    const http10 = responseHead(200, ['content-length', '0'], false, true, true);
    expect(http10.text).toContain('connection: keep-alive\r\n');
    const closing = responseHead(503, ['content-length', '0', 'connection', 'close'], false, false, true);
    expect(closing).toMatchObject({ keepAlive: false });
    expect(closing.text.match(/connection/gi)?.length).toBe(1);
  });
});
