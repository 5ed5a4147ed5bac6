import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '#core/errors/domain-error.js';
import { PAGE_ASSETS } from './page-assets.js';

/**
 * Only the page's own files, no inline script or style (so an injected tag
 * runs nothing), data only from this origin, and no framing. uPlot sets
 * styles through the CSSOM, which style-src does not restrict.
 */
export const PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': PAGE_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // Revalidate every time (cheap, with the ETag) so a new proxy version is picked up at once.
  'cache-control': 'no-cache',
} as const;

interface PreparedAsset {
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer;
  readonly etag: string;
}

const PREPARED: ReadonlyMap<string, PreparedAsset> = new Map(
  [...PAGE_ASSETS].map(([path, asset]) => {
    const body = Buffer.from(asset.body, 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    return [path, { body, etag, headers: { ...SECURITY_HEADERS, 'content-type': asset.contentType, etag } }];
  }),
);

/**
 * Serves the balance page's files, which hold no data and so need no token
 * (a browser cannot attach one to <script src>); every data route does.
 * Returns false when `path` is not one of them.
 */
export function servePageAsset(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const asset = PREPARED.get(path);
  if (!asset) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new DomainError('METHOD_NOT_ALLOWED', undefined, `method ${req.method} not allowed; use GET`);
  }
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, asset.headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...asset.headers, 'content-length': asset.body.length });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}
