/**
 * Where consistent hashing takes its key from. The default, the
 * `request_id` query parameter, is what the seed's balancers this replaces
 * (`/home?request_id=123`).
 */
export type KeySource =
  | { readonly kind: 'query'; readonly name: string }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'path' }
  | { readonly kind: 'client-ip' };

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export function parseKeySource(text: string): KeySource {
  if (text === 'path') return { kind: 'path' };
  if (text === 'client-ip') return { kind: 'client-ip' };
  const colon = text.indexOf(':');
  const kind = colon > 0 ? text.slice(0, colon) : '';
  const name = text.slice(colon + 1);
  if ((kind === 'query' || kind === 'header' || kind === 'cookie') && TOKEN.test(name)) {
    return { kind, name: kind === 'header' ? name.toLowerCase() : name };
  }
  throw new Error(`expected query:<name>, header:<name>, cookie:<name>, path or client-ip, got "${text}"`);
}

/** Value of query parameter `name` in a request target, undecoded; undefined when absent or empty. */
export function queryParam(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let at = q + 1;
  while (at < url.length) {
    const end = nextDelimiter(url, at);
    const eq = url.indexOf('=', at);
    if (eq > 0 && eq < end && eq - at === name.length && url.startsWith(name, at)) {
      return eq + 1 < end ? url.slice(eq + 1, end) : undefined;
    }
    if (end >= url.length || url.charCodeAt(end) === 35 /* # */) return undefined;
    at = end + 1;
  }
  return undefined;
}

function nextDelimiter(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 38 /* & */ || c === 35 /* # */) return i;
  }
  return url.length;
}

/** Value of cookie `name` in a Cookie header; undefined when absent. */
export function cookieValue(header: string, name: string): string | undefined {
  let at = 0;
  while (at < header.length) {
    while (header.charCodeAt(at) === 32) at++;
    let end = header.indexOf(';', at);
    if (end < 0) end = header.length;
    if (header.startsWith(name, at) && header.charCodeAt(at + name.length) === 61 /* = */) {
      const value = header.slice(at + name.length + 1, end).trim();
      return value === '' ? undefined : value;
    }
    at = end + 1;
  }
  return undefined;
}

/** The path part of a request target. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
