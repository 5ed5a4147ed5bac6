import { DomainError } from '#core/errors/domain-error.js';
import { isLoopbackHost } from '#core/util/loopback-host.js';

export { isLoopbackHost };

/** The host part of a Host header (`name:port`, `[v6]:port`), or undefined when it has none. */
function hostnameOf(hostHeader: string): string | undefined {
  if (hostHeader.startsWith('[')) {
    const end = hostHeader.indexOf(']');
    return end > 0 ? hostHeader.slice(0, end + 1) : undefined;
  }
  const name = hostHeader.split(':')[0];
  return name === '' ? undefined : name;
}

/** What the guard reads of a request: node:http's IncomingMessage and a local route's request both have it. */
export interface GuardedRequest {
  readonly method?: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
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
export function checkLoopbackRequest(req: GuardedRequest): void {
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const hostHeader = header('host') ?? '';
  const host = hostnameOf(hostHeader);
  if (host === undefined || !isLoopbackHost(host)) {
    throw new DomainError(
      'FORBIDDEN',
      'host',
      `"${hostHeader}" is not a loopback name; the compatibility mode answers only requests to 127.0.0.1, ::1 or localhost`,
    );
  }
  const origin = header('origin');
  if (origin !== undefined && origin !== `http://${hostHeader}`) {
    throw new DomainError('FORBIDDEN', 'origin', `cross-site request from "${origin}" refused`);
  }
  const site = header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new DomainError('FORBIDDEN', 'sec-fetch-site', `"${site}" request refused`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const type = (header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new DomainError(
        'INVALID_INPUT',
        'content-type',
        `expected application/json, got ${type ? `"${type}"` : 'none'} (send -H 'content-type: application/json')`,
      );
    }
  }
}
