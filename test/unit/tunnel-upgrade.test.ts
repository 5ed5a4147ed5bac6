import { describe, expect, it } from 'vitest';
import { switchingProtocolsHead } from '#proxy/forwarding/tunnel/switching-head.js';
import { tunnelUpgrade } from '#proxy/forwarding/tunnel/upgrade-request.js';

const ws = ['Host', 't', 'Connection', 'Upgrade', 'Upgrade', 'websocket'];

describe('which upgrade requests open a tunnel', () => {
  it('a bodiless GET asking for websocket (or any protocol but h2c) does', () => {
    expect(tunnelUpgrade('GET', ws)).toBe('websocket');
    expect(tunnelUpgrade('GET', ['Connection', 'keep-alive, UPGRADE', 'Upgrade', 'foo/2, bar'])).toBe('foo/2, bar');
    // Docker's attach: POST with Upgrade: tcp and no body.
    expect(tunnelUpgrade('POST', ['Connection', 'Upgrade', 'Upgrade', 'tcp', 'Content-Length', '0'])).toBe('tcp');
    // Two Upgrade fields form one list; Connection may come in two fields too.
    expect(tunnelUpgrade('GET', ['Upgrade', 'a', 'Upgrade', 'b', 'Connection', 'x', 'Connection', 'upgrade'])).toBe(
      'a, b',
    );
  });

  it('HEAD and CONNECT never do', () => {
    expect(tunnelUpgrade('HEAD', ws)).toBeNull();
    expect(tunnelUpgrade('CONNECT', ws)).toBeNull();
  });

  it('a request with a body never does: its bytes would be body to one reader and tunnel to another', () => {
    expect(tunnelUpgrade('POST', [...ws, 'Content-Length', '5'])).toBeNull();
    expect(tunnelUpgrade('POST', [...ws, 'Transfer-Encoding', 'chunked'])).toBeNull();
  });

  it('h2c is refused, alone or in a list, in any case and version', () => {
    expect(tunnelUpgrade('GET', ['Connection', 'Upgrade, HTTP2-Settings', 'Upgrade', 'h2c'])).toBeNull();
    expect(tunnelUpgrade('GET', ['Connection', 'Upgrade', 'Upgrade', 'websocket, H2C'])).toBeNull();
    expect(tunnelUpgrade('GET', ['Connection', 'Upgrade', 'Upgrade', 'h2c/1'])).toBeNull();
  });

  it('without Connection: upgrade, or without a protocol, it is plain HTTP', () => {
    expect(tunnelUpgrade('GET', ['Upgrade', 'websocket'])).toBeNull();
    expect(tunnelUpgrade('GET', ['Connection', 'upgraded', 'Upgrade', 'websocket'])).toBeNull();
    expect(tunnelUpgrade('GET', ['Connection', 'Upgrade', 'Upgrade', '  '])).toBeNull();
  });
});

describe('the 101 the client gets', () => {
  it("keeps the server's fields, drops the hop's, says connection: upgrade and carries the proxy's request id", () => {
    const head = switchingProtocolsHead(
      [
        'Upgrade',
        'websocket',
        'Connection',
        'Upgrade, Keep-Alive',
        'Sec-WebSocket-Accept',
        's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
        'Keep-Alive',
        'timeout=5',
        'X-Request-Id',
        'theirs',
        'Content-Length',
        '0',
      ],
      'ours-1',
    );
    expect(head).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'connection: upgrade\r\nx-request-id: ours-1\r\n\r\n',
    );
  });

  it('takes undici’s Buffer headers as well as strings', () => {
    expect(switchingProtocolsHead([Buffer.from('Upgrade'), Buffer.from('echo')], 'r')).toContain('Upgrade: echo\r\n');
  });
});
