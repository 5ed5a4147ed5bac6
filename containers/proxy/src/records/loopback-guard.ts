import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { DomainError } from '#core/errors/domain-error.js';

/** True for a name or address only this machine can reach: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const name = bare.toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1' || name.startsWith('::ffff:127.');
  return false;
}

/** The host part of a Host header (`name:port`, `[v6]:port`), or undefined when it has none. */
function hostnameOf(hostHeader: string): string | undefined {
  if (hostHeader.startsWith('[')) {
    const end = hostHeader.indexOf(']');
    return end > 0 ? hostHeader.slice(0, end + 1) : undefined;
  }
  const name = hostHeader.split(':')[0];
  return name === '' ? undefined : name;
}

/**
 * The defences a token-less API on localhost needs against a browser that
 * visits a hostile page (checked on the compatibility mode's admin routes):
 *
 * - DNS rebinding: a page on evil.example re-points its own name at 127.0.0.1
 *   and then calls us same-origin; its requests still carry `Host: evil.example`.
 *   Only loopback Host names are served.
 * - Cross-site requests: a page elsewhere can send simple requests (no
 *   preflight) to any address. Browsers mark them with `Origin` (and
 *   `Sec-Fetch-Site`); only our own origin is served.
 * - HTML forms can send only urlencoded, multipart or text/plain bodies
 *   without a CORS preflight, which this API never grants: requiring
 *   `application/json` shuts them out. The seeds' scripts (curl -H, Python
 *   requests' json=, http.client with Content-type) all send it.
 */
export function checkLoopbackRequest(req: IncomingMessage): void {
  const hostHeader = req.headers.host ?? '';
  const host = hostnameOf(hostHeader);
  if (host === undefined || !isLoopbackHost(host)) {
    throw new DomainError(
      'FORBIDDEN',
      'host',
      `"${hostHeader}" is not a loopback name; the compatibility mode answers only requests to 127.0.0.1, ::1 or localhost`,
    );
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${hostHeader}`) {
    throw new DomainError('FORBIDDEN', 'origin', `cross-site request from "${origin}" refused`);
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new DomainError('FORBIDDEN', 'sec-fetch-site', `"${site}" request refused`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new DomainError(
        'INVALID_INPUT',
        'content-type',
        `expected application/json, got ${type ? `"${type}"` : 'none'} (send -H 'content-type: application/json')`,
      );
    }
  }
}
