/**
 * How the Node peer proxies choose a backend: FNV-1a over the request URL,
 * modulo the backend count. Cheaper than the consistent hashing nginx,
 * HAProxy and Ringmaster do, so the peers are not handicapped by it.
 */
export function pickUpstream<T>(url: string, upstreams: readonly T[]): T {
  let h = 0x811c9dc5;
  for (let i = 0; i < url.length; i++) h = Math.imul(h ^ url.charCodeAt(i), 0x01000193);
  return upstreams[(h >>> 0) % upstreams.length] as T;
}

/** Backends and port from the environment the benchmark sets; fails fast with the variable's name. */
export function peerEnv(): { upstreams: string[]; port: number } {
  const upstreams = (process.env.UPSTREAMS ?? '').split(',').filter(Boolean);
  const port = Number(process.env.PORT);
  if (upstreams.length === 0) throw new Error('UPSTREAMS: required (comma-separated http://host:port list)');
  if (!Number.isInteger(port) || port <= 0) throw new Error(`PORT: expected a port number, got "${process.env.PORT}"`);
  return { upstreams, port };
}
