import { equalsLower } from '../request-head.js';

const STATUS_LINE = 'HTTP/1.1 101 Switching Protocols\r\n';

/**
 * The 101 the client gets: the server's fields as it sent them (its
 * Upgrade, Sec-WebSocket-Accept, subprotocol, extensions), except the ones
 * that describe the proxy's hop (Keep-Alive, framing, Proxy-Authenticate)
 * and its request id (the proxy's replaces it), with `connection: upgrade`
 * written here whatever else the server's Connection listed.
 */
export function switchingProtocolsHead(raw: readonly Buffer[] | readonly string[], requestId: string): string {
  let head = STATUS_LINE;
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] as Buffer | string;
    const name = typeof rawName === 'string' ? rawName : rawName.toString('latin1');
    if (isHopField(name)) continue;
    const value = raw[i + 1] as Buffer | string;
    head += `${name}: ${typeof value === 'string' ? value : value.toString('latin1')}\r\n`;
  }
  return `${head}connection: upgrade\r\nx-request-id: ${requestId}\r\n\r\n`;
}

function isHopField(name: string): boolean {
  switch (name.length) {
    case 7:
      return equalsLower(name, 'trailer');
    case 10:
      return equalsLower(name, 'connection') || equalsLower(name, 'keep-alive');
    case 12:
      return equalsLower(name, 'x-request-id');
    case 14:
      return equalsLower(name, 'content-length');
    case 17:
      return equalsLower(name, 'transfer-encoding');
    case 18:
      return equalsLower(name, 'proxy-authenticate');
    default:
      return false;
  }
}
