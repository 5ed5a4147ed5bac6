/**
 * Seeded generator of raw HTTP/1.1 request streams for the differential
 * fuzzer. A stream is one client connection's bytes: one to four requests
 * back to back (pipelined), built from well-formed parts and then bent the
 * ways request smuggling bends them: header names in odd case and spacing,
 * duplicated and conflicting framing fields, Connection options naming
 * framing or proxy fields, chunk sizes and extensions, obsolete line folding,
 * bare LF, NUL and CR in odd places, HTTP/1.0, Expect, upgrades, and bodies
 * that hold a request of their own. One stream in ten is built around an
 * upgrade (upgradeStream): mostly one the proxy tunnels, else HEAD, a body,
 * chunked, h2c; then tunnel bytes, a pipelined request, both or nothing.
 * Every request head carries
 * `X-Fuzz-Id: <stream>.<n>` (and each request hidden in a body one ending in
 * `x<n>`), so whatever a server receives can be traced to its stream.
 *
 * Same (seed, stream) → same bytes, on any machine: a finding is reproduced
 * from its bytes, or from its seed and stream number.
 */

/** mulberry32: small, fast, and good enough to pick cases. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** One generated stream: its bytes and how to write them (the pieces' lengths). */
export interface FuzzStream {
  readonly stream: number;
  readonly bytes: Buffer;
  /** Where the bytes are split into separate writes (offsets, ascending). */
  readonly splits: readonly number[];
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'HEAD', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'];
const ODD_METHODS = ['get', 'CONNECT', 'PRI', 'G ET', 'SEARCH', 'PROPFIND', 'M-SEARCH', 'FOO'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'];
const ODD_VERSIONS = ['HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/01.1', 'HTTP/1'];

/** A name as a client might spell it: any case, sometimes with bytes around it that a strict parser refuses. */
function spell(r: Random, name: string): string {
  switch (r.int(8)) {
    case 0:
      return name.toUpperCase();
    case 1:
      return name.toLowerCase();
    case 2:
      return [...name].map((c) => (r.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join('');
    case 3:
      if (r.chance(0.1)) return `${name} `; // space before the colon: refused
      return name;
    default:
      return name;
  }
}

/** `Name: value` with odd but mostly legal spacing. */
function field(r: Random, name: string, value: string): string {
  const sep = r.pick([': ', ': ', ':', ':  ', ':\t', ': ']);
  const tail = r.chance(0.03) ? r.pick([' ', '\t', '  ']) : '';
  return `${spell(r, name)}${sep}${value}${tail}\r\n`;
}

function target(r: Random, id: string, method: string): string {
  const path = `/f/${id}`;
  if (method === 'OPTIONS' && r.chance(0.3)) return '*';
  switch (r.int(12)) {
    case 0:
      return `${path}?q=${r.int(1000)}&x=%20y`;
    case 1:
      return `http://t${path}`;
    case 2:
      return `${path}/a%2F..%2Fb`;
    case 3:
      return `${path}?${r.pick(['"', '{}', '|', '^', '`', '\x7f', '\xe9'])}`;
    case 4:
      return r.chance(0.5) ? `${path} x` : `${path}#frag`;
    case 5:
      return `//${path}`;
    default:
      return path;
  }
}

/** Request bytes hidden in a body: a second request, should any hop read the body as one. */
function smuggledRequest(r: Random, stream: number, n: number): string {
  const id = `${stream}.x${n}`;
  const method = r.pick(['GET', 'POST', 'DELETE']);
  const body = method === 'POST' ? 'Content-Length: 3\r\n\r\nabc' : '\r\n';
  return `${method} /f/${id} HTTP/1.1\r\nHost: t\r\nX-Fuzz-Id: ${id}\r\n${body}`;
}

function randomBody(r: Random, stream: number, n: number): string {
  switch (r.int(5)) {
    case 0:
      return '';
    case 1:
      return smuggledRequest(r, stream, n);
    case 2:
      return `${'ab'.repeat(r.int(20))}${smuggledRequest(r, stream, n)}`;
    case 3:
      return Array.from({ length: r.int(40) + 1 }, () => String.fromCharCode(r.int(256))).join('');
    default:
      return 'hello world'.slice(0, r.int(12));
  }
}

/** A chunked encoding of `body`, in random pieces, with the odd forms a parser may misread. */
function chunked(r: Random, body: string): string {
  let out = '';
  let at = 0;
  while (at < body.length) {
    const size = Math.min(body.length - at, r.int(8) + 1);
    let sizeText = size.toString(16);
    switch (r.int(40)) {
      case 0:
        sizeText = sizeText.toUpperCase();
        break;
      case 1:
        sizeText = `00${sizeText}`;
        break;
      case 2:
        sizeText += r.pick([';ext=1', ';a="b c"', ' ;x', ';', '; q=\x01']);
        break;
      case 3:
        sizeText = r.pick([`0x${sizeText}`, `${sizeText} `, `+${sizeText}`, `-${sizeText}`, `${sizeText}\n`]);
        break;
    }
    out += `${sizeText}\r\n${body.slice(at, at + size)}${r.chance(0.05) ? '\n' : '\r\n'}`;
    at += size;
  }
  out += r.chance(0.1) ? `0;${r.pick(['x', 'y=z'])}\r\n` : '0\r\n';
  if (r.chance(0.1)) out += field(r, r.pick(['X-Trailer', 'Content-Length', 'Host']), '9');
  return `${out}\r\n`;
}

/** One request: head and body, bent per the dice. `n` is its place in the stream. */
function request(r: Random, stream: number, n: number): string {
  const id = `${stream}.${n}`;
  const method = r.chance(0.04) ? r.pick(ODD_METHODS) : r.pick(METHODS);
  const version = r.chance(0.03) ? r.pick(ODD_VERSIONS) : r.pick(VERSIONS);
  const body = ['POST', 'PUT', 'PATCH'].includes(method) || r.chance(0.2) ? randomBody(r, stream, n) : '';
  const fields: string[] = [];
  if (!r.chance(0.04)) fields.push(field(r, 'Host', r.pick(['t', 't', 't:80', 'a.example', ''])));
  if (r.chance(0.03)) fields.push(field(r, 'Host', 'other'));
  fields.push(`X-Fuzz-Id: ${id}\r\n`);
  if (r.chance(0.3)) fields.push(field(r, 'Accept', '*/*'));
  if (r.chance(0.1)) fields.push(field(r, 'X-Forwarded-For', '10.9.8.7'));
  if (r.chance(0.05)) fields.push(field(r, 'X-Request-Id', r.pick(['abc-1', 'bad id', 'x'.repeat(200)])));
  if (r.chance(0.05)) fields.push(field(r, 'X-Forwarded-Proto', 'https'));
  if (r.chance(0.08)) fields.push(field(r, 'Expect', r.pick(['100-continue', '100-Continue', 'foo'])));
  if (r.chance(0.06)) {
    fields.push(field(r, 'Upgrade', r.pick(['websocket', 'h2c', 'foo'])));
    if (r.chance(0.7)) fields.push(field(r, 'Connection', 'Upgrade'));
  }
  if (r.chance(0.05)) fields.push(field(r, 'TE', 'trailers'));
  if (r.chance(0.04)) fields.push(field(r, 'Keep-Alive', 'timeout=5'));
  if (r.chance(0.04)) fields.push(field(r, 'Proxy-Authorization', 'Basic eDp5'));
  if (r.chance(0.05)) fields.push(field(r, 'X-Hop', 'secret'));

  // Framing: honest most of the time, conflicting or lying otherwise.
  let framed = body;
  const len = Buffer.byteLength(body, 'latin1');
  // 0–6 honest length, 7–10 honest chunked, 11–19 the lies and conflicts; honest twice as often as that.
  const roll = r.int(30);
  const framing = roll < 14 ? Math.floor(roll / 2) : roll < 21 ? 7 + ((roll - 14) % 4) : 11 + (roll - 21);
  if (framing < 7) {
    if (len > 0 || r.chance(0.3)) fields.push(field(r, 'Content-Length', String(len)));
  } else if (framing < 11) {
    fields.push(field(r, 'Transfer-Encoding', 'chunked'));
    framed = chunked(r, body);
  } else {
    switch (framing) {
      case 11: // too short: the rest of the body follows as the next request
        fields.push(field(r, 'Content-Length', String(Math.max(0, len - r.int(len + 1)))));
        break;
      case 12: // too long: the proxy waits for the rest (a hung stream, cut by timeouts)
        fields.push(field(r, 'Content-Length', String(len + r.int(5) + 1)));
        break;
      case 13:
        fields.push(field(r, 'Content-Length', String(len)), field(r, 'Transfer-Encoding', 'chunked'));
        framed = r.chance(0.5) ? chunked(r, body) : body;
        break;
      case 14:
        fields.push(
          field(r, 'Content-Length', String(len)),
          field(r, 'Content-Length', String(r.chance(0.5) ? len : len + 1)),
        );
        break;
      case 15:
        fields.push(
          field(
            r,
            'Transfer-Encoding',
            r.pick([
              'chunked, chunked',
              'identity',
              'gzip, chunked',
              'xchunked',
              'chunked ',
              ' chunked',
              'CHUNKED',
              'chunked;q=1',
            ]),
          ),
        );
        framed = chunked(r, body);
        break;
      case 16:
        fields.push(
          field(
            r,
            'Content-Length',
            r.pick([`+${len}`, `${len}, ${len}`, `0x${len}`, ` ${len} `, `${len}.0`, '-1', '99999999999999999999']),
          ),
        );
        break;
      case 17:
        fields.push(
          field(r, 'Transfer-Encoding', 'chunked'),
          field(r, 'Transfer-Encoding', r.pick(['chunked', 'identity'])),
        );
        framed = chunked(r, body);
        break;
      default:
        if (len > 0) fields.push(field(r, 'Content-Length', String(len)));
    }
  }
  // Connection options, including the ones that name framing, routing or the proxy's own fields.
  if (r.chance(0.3)) {
    const options = [
      'keep-alive',
      'close',
      'Keep-Alive, Content-Length',
      'Transfer-Encoding',
      'host',
      'X-Forwarded-For',
      'x-request-id',
      'X-Fuzz-Id',
      'X-Hop',
      'TE',
      'keep-alive, close',
      'Upgrade',
      'Content-Length, Transfer-Encoding',
    ];
    fields.push(field(r, 'Connection', r.pick(options)));
  }
  // Shuffle a little: framing before or after the others.
  if (r.chance(0.3)) fields.reverse();
  const t = target(r, id, method);
  // Stripping X-Fuzz-Id is fine while the target still names the request; `*` does not.
  const joined = t === '*' ? fields.join('').replace(/(Connection:[^\r]*)X-Fuzz-Id/i, '$1X-Hop') : fields.join('');
  let head = `${method} ${t} ${version}\r\n${joined}\r\n`;
  head = bend(r, head);
  return head + framed;
}

/** Rarely, one of the byte-level forms parsers disagree on, somewhere in the head. */
function bend(r: Random, head: string): string {
  if (!r.chance(0.08)) return head;
  const lines = head.split('\r\n');
  const i = 1 + r.int(Math.max(1, lines.length - 3));
  const line = lines[i] ?? '';
  switch (r.int(7)) {
    case 0: // obsolete line folding
      lines.splice(i + 1, 0, ` ${r.pick(['chunked', 'x', '5'])}`);
      break;
    case 1: // bare LF between two lines
      lines[i] = `${line}\n${lines[i + 1] ?? ''}`;
      lines.splice(i + 1, 1);
      break;
    case 2: // NUL inside a value
      lines[i] = `${line}\x00x`;
      break;
    case 3: // bare CR inside a value
      lines[i] = `${line.slice(0, Math.max(1, line.length - 1))}\r${line.slice(-1)}`;
      break;
    case 4: // a line with no colon
      lines.splice(i, 0, 'NoColonHere');
      break;
    case 5: // whitespace before the first header
      lines[1] = ` ${lines[1] ?? ''}`;
      break;
    default: // a control byte in a name
      lines[i] = `X\x01Y: 1`;
  }
  return lines.join('\r\n');
}

const TUNNEL_METHODS = ['GET', 'GET', 'GET', 'GET', 'OPTIONS', 'DELETE', 'PUT', 'PATCH'];
const WEBSOCKET_FIELDS = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

/**
 * An upgrade request: seven times in twelve one the proxy tunnels (no body,
 * Connection: upgrade, not h2c, not HEAD), else one it must serve as plain
 * HTTP. Its fields are spelled as a client would; the bending is elsewhere.
 */
function upgradeRequest(r: Random, stream: number, n: number): string {
  const id = `${stream}.${n}`;
  const fields = [field(r, 'Host', 't'), `X-Fuzz-Id: ${id}\r\n`];
  let method = r.pick(TUNNEL_METHODS);
  let protocol = r.pick(['websocket', 'websocket', 'websocket', 'WebSocket', 'foo/2', 'websocket, foo']);
  let body = '';
  switch (r.int(12)) {
    case 0:
      method = 'HEAD';
      break;
    case 1: // a body that holds a request: tunnel bytes to one reader, a request to another
      method = 'POST';
      body = r.chance(0.5) ? smuggledRequest(r, stream, n) : 'hello';
      fields.push(field(r, 'Content-Length', String(body.length)));
      break;
    case 2:
      fields.push(field(r, 'Transfer-Encoding', 'chunked'));
      body = chunked(r, r.chance(0.5) ? smuggledRequest(r, stream, n) : 'abc');
      break;
    case 3:
      protocol = r.pick(['h2c', 'H2C', 'websocket, h2c', 'h2c/1']);
      fields.push('HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n');
      break;
    case 4:
      fields.push(field(r, 'Content-Length', '0'));
      break;
  }
  fields.push(field(r, 'Upgrade', protocol));
  fields.push(field(r, 'Connection', r.pick(['Upgrade', 'upgrade', 'keep-alive, Upgrade', 'Upgrade, HTTP2-Settings'])));
  if (protocol.toLowerCase().startsWith('websocket')) fields.push(WEBSOCKET_FIELDS);
  if (r.chance(0.3)) fields.reverse();
  return `${method} /f/${id} HTTP/1.1\r\n${fields.join('')}\r\n${body}`;
}

/**
 * What a client sends after its upgrade request: nothing, tunnel bytes (now
 * and then more than a socket buffer holds, so the tunnel's backpressure
 * runs), a request pipelined behind it, or both.
 */
function afterUpgrade(r: Random, stream: number, n: number): string {
  const frame = () => Array.from({ length: r.int(40) + 1 }, () => String.fromCharCode(r.int(256))).join('');
  if (r.chance(0.05)) {
    const piece = frame();
    return piece.repeat(Math.ceil((64 * 1024 + r.int(192 * 1024)) / piece.length)) + smuggledRequest(r, stream, n);
  }
  switch (r.int(5)) {
    case 0:
      return '';
    case 1:
      return frame();
    case 2:
      return request(r, stream, n);
    case 3:
      return frame() + smuggledRequest(r, stream, n);
    default:
      return `GET /f/${stream}.${n} HTTP/1.1\r\nHost: t\r\nX-Fuzz-Id: ${stream}.${n}\r\n\r\n`;
  }
}

/**
 * A stream built around an upgrade: up to two requests before it, the
 * upgrade request, what follows it; written at once, or split where the
 * upgrade request's head ends, or anywhere.
 */
function upgradeStream(r: Random, stream: number): FuzzStream {
  const before = r.chance(0.6) ? 0 : 1 + r.int(2);
  let text = '';
  for (let n = 0; n < before; n++) text += request(r, stream, n);
  text += upgradeRequest(r, stream, before);
  const headEnd = Buffer.byteLength(text, 'latin1');
  text += afterUpgrade(r, stream, before + 1);
  const bytes = Buffer.from(text, 'latin1');
  const splits: number[] = [];
  const how = r.int(4);
  if (how === 1 && headEnd < bytes.length) splits.push(headEnd);
  else if (how === 2) splits.push(r.int(bytes.length));
  return { stream, bytes, splits };
}

/** The bytes of stream `stream` under `seed`. */
export function generateStream(seed: number, stream: number): FuzzStream {
  // Its own dice, so the streams that are not upgrade streams stay what they were before upgrade streams came.
  const u = new Random((seed * 0x2c1b3c6d) ^ Math.imul(stream + 1, 0x297a2d39));
  if (u.chance(0.1)) return upgradeStream(u, stream);
  const r = new Random((seed * 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b));
  const count = 1 + (r.chance(0.6) ? 0 : r.int(4));
  let text = '';
  for (let n = 0; n < count; n++) text += request(r, stream, n);
  if (r.chance(0.05)) text += r.pick(['\r\n', 'garbage\r\n\r\n', 'GET /f/trailing HTTP/1.1\r\n']);
  const bytes = Buffer.from(text, 'latin1');
  const splits: number[] = [];
  if (r.chance(0.25)) {
    for (let k = r.int(3) + 1; k > 0; k--) splits.push(r.int(bytes.length));
    splits.sort((a, b) => a - b);
  }
  return { stream, bytes, splits };
}
