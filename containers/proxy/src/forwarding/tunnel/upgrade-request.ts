import { equalsLower } from '../request-head.js';

/**
 * Which upgrade requests the proxy carries as tunnels. Both data planes ask
 * this one question, and only of a request their parser already flagged as
 * an upgrade (Connection: upgrade with an Upgrade field), so it costs the
 * ordinary request nothing.
 *
 * A tunnel opens only for a request that can switch protocols cleanly:
 * - not HEAD (a HEAD's answer is a head only; RFC 9110 §7.8 lets a server
 *   switch only when the request's semantics survive) and not CONNECT (the
 *   proxy is no forward proxy: 405 as before);
 * - with no body: bytes after a head that asked to upgrade would be body to
 *   one reader and tunnel to another, the shape of a smuggling attempt;
 * - not to `h2c`: cleartext HTTP/2 through the tunnel would let a client
 *   talk HTTP/2 to a server past every check the proxy makes per request
 *   (the h2c smuggling attack), so h2c is refused.
 * Any other upgrade request is served as plain HTTP with its Upgrade dropped,
 * which RFC 9110 §7.8 allows a server to do (and which the proxy did for every
 * upgrade before tunnels).
 */
export function tunnelUpgrade(method: string, raw: readonly string[]): string | null {
  if (method === 'HEAD' || method === 'CONNECT') return null;
  let upgrade: string | null = null;
  let connectionUpgrade = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    switch (name.length) {
      case 7:
        // Repeated Upgrade fields form one list (RFC 9110 §5.3).
        if (equalsLower(name, 'upgrade')) upgrade = upgrade === null ? value : `${upgrade}, ${value}`;
        break;
      case 10:
        if (equalsLower(name, 'connection') && hasToken(value, 'upgrade')) connectionUpgrade = true;
        break;
      case 14:
        if (equalsLower(name, 'content-length') && value.trim() !== '0') return null;
        break;
      case 17:
        if (equalsLower(name, 'transfer-encoding')) return null;
        break;
    }
  }
  if (upgrade === null || !connectionUpgrade) return null;
  const protocols = upgrade.trim();
  if (protocols === '' || namesH2c(protocols)) return null;
  return protocols;
}

/** Whether the comma-separated list `value` holds `token` (case-insensitive). */
function hasToken(value: string, token: string): boolean {
  for (const part of value.split(',')) if (equalsLower(part.trim(), token)) return true;
  return false;
}

/** Whether an Upgrade list offers h2c in any version (`h2c`, `H2C/…`). */
function namesH2c(protocols: string): boolean {
  for (const part of protocols.split(',')) {
    const name = part.trim().split('/')[0] ?? '';
    if (equalsLower(name, 'h2c')) return true;
  }
  return false;
}
