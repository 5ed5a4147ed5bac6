/**
 * One pass over the client's raw headers: copies what is forwarded into the
 * upstream header list and notes what the proxy itself needs. Header names
 * are compared by length first and then case-insensitively in place, so the
 * common case allocates nothing but the output array.
 *
 * Framing is never forwarded: Content-Length and Transfer-Encoding are read
 * here (the parser has already validated them) and left out of `headers`;
 * the upstream client writes the framing of the body the proxy itself parsed
 * (RFC 9112 §6), from `contentLength` and `chunked`. docs/http-fields.md has
 * the whole table of what happens to each field.
 */
export interface RequestHead {
  /** Flat [name, value, …] list for the upstream client: no hop-by-hop and no framing field. */
  headers: string[];
  /** The parsed Content-Length, or -1 when the client sent none. */
  contentLength: number;
  chunked: boolean;
  requestId: string | undefined;
  forwardedFor: string | undefined;
  forwardedProto: boolean;
  forwardedHost: boolean;
  host: string | undefined;
  keyHeader: string | undefined;
  demandHeader: string | undefined;
  /** The client sent `Expect: 100-continue`. */
  expectContinue: boolean;
  /** Extra hop-by-hop names listed in Connection (rare). */
  connectionTokens: string | undefined;
  /**
   * A field Connection named that frames or routes the message (content-length,
   * transfer-encoding, host), as the client spelled it: the request is refused.
   */
  connectionNamesFraming: string | undefined;
  /**
   * Host appeared more than once: which one a server honours is anyone's guess,
   * so the request is refused (RFC 9112 §3.2: a server MUST answer it 400).
   */
  duplicateHost: boolean;
}

/** Request ids we pass through: short and printable, so logs stay safe. */
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** ASCII case-insensitive equality against a lower-case literal. */
export function equalsLower(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

export function scanRequestHead(raw: readonly string[], keyHeaderName: string, demandHeaderName: string): RequestHead {
  const headers: string[] = [];
  const head: RequestHead = {
    headers,
    contentLength: -1,
    chunked: false,
    requestId: undefined,
    forwardedFor: undefined,
    forwardedProto: false,
    forwardedHost: false,
    host: undefined,
    keyHeader: undefined,
    demandHeader: undefined,
    expectContinue: false,
    connectionTokens: undefined,
    connectionNamesFraming: undefined,
    duplicateHost: false,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.length === keyHeaderName.length && equalsLower(name, keyHeaderName)) {
      // Repeated Cookie headers form one cookie list (RFC 6265 §5.4); other headers, the last wins.
      head.keyHeader =
        head.keyHeader !== undefined && keyHeaderName === 'cookie' ? `${head.keyHeader}; ${value}` : value;
    }
    if (name.length === demandHeaderName.length && equalsLower(name, demandHeaderName)) head.demandHeader = value;
    switch (name.length) {
      case 2:
        if (equalsLower(name, 'te')) continue;
        break;
      case 4:
        if (equalsLower(name, 'host')) {
          if (head.host !== undefined) head.duplicateHost = true;
          head.host = value;
        }
        break;
      case 6:
        // The data plane answers Expect: 100-continue itself; it is never forwarded (undici refuses to send it).
        if (equalsLower(name, 'expect')) {
          if (equalsLower(value, '100-continue')) head.expectContinue = true;
          continue;
        }
        break;
      case 7:
        if (equalsLower(name, 'upgrade') || equalsLower(name, 'trailer')) continue;
        break;
      case 10:
        if (equalsLower(name, 'connection')) {
          if (!equalsLower(value, 'keep-alive') && !equalsLower(value, 'close')) {
            // Several Connection fields form one list (RFC 9110 §5.3).
            head.connectionTokens = head.connectionTokens === undefined ? value : `${head.connectionTokens}, ${value}`;
          }
          continue;
        }
        if (equalsLower(name, 'keep-alive')) continue;
        break;
      case 12:
        if (equalsLower(name, 'x-request-id')) {
          if (VALID_REQUEST_ID.test(value)) head.requestId = value;
          continue;
        }
        break;
      case 14:
        if (equalsLower(name, 'content-length')) {
          // The parser accepted only digits (and refused two different values); the upstream
          // client writes its own `content-length` from this number.
          head.contentLength = Number(value);
          continue;
        }
        break;
      case 15:
        if (equalsLower(name, 'x-forwarded-for')) {
          head.forwardedFor = head.forwardedFor === undefined ? value : `${head.forwardedFor}, ${value}`;
          continue;
        }
        break;
      case 16:
        if (equalsLower(name, 'x-forwarded-host')) head.forwardedHost = true;
        break;
      case 17:
        if (equalsLower(name, 'transfer-encoding')) {
          head.chunked = true;
          continue;
        }
        if (equalsLower(name, 'x-forwarded-proto')) head.forwardedProto = true;
        break;
      case 19:
        if (equalsLower(name, 'proxy-authorization')) continue;
        break;
    }
    headers.push(name, value);
  }
  if (head.connectionTokens !== undefined) stripConnectionTokens(head);
  return head;
}

/**
 * Fields a Connection option can never remove. Framing and Host describe the
 * message itself, not the connection: a sender MUST NOT list them (RFC 9110
 * §7.6.1), and a proxy that obeys such a list forwards a message framed
 * differently from the one it parsed (request smuggling). The request is
 * refused instead (see Exchange and docs/http-fields.md).
 */
const FRAMING_FIELDS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host']);
/**
 * Fields the proxy reads and writes itself: a Connection option naming them is
 * ignored, so a client cannot strip the proxy's own X-Forwarded-* or request id
 * on their way upstream (the classic hop-by-hop header abuse).
 */
const PROXY_FIELDS: ReadonlySet<string> = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

/** Removes headers the client listed in Connection (RFC 9110 §7.6.1); notes a listed framing field. */
function stripConnectionTokens(head: RequestHead): void {
  const tokens = new Set<string>();
  for (const raw of (head.connectionTokens as string).split(',')) {
    const token = raw.trim().toLowerCase();
    if (token === '' || token === 'keep-alive' || token === 'close' || PROXY_FIELDS.has(token)) continue;
    if (FRAMING_FIELDS.has(token)) {
      head.connectionNamesFraming ??= token;
      continue;
    }
    tokens.add(token);
  }
  if (tokens.size === 0) return;
  const kept: string[] = [];
  for (let i = 0; i < head.headers.length; i += 2) {
    const name = head.headers[i] as string;
    if (!tokens.has(name.toLowerCase())) kept.push(name, head.headers[i + 1] as string);
  }
  head.headers = kept;
}

/**
 * Upstream response headers to send on: hop-by-hop ones dropped (Node adds
 * its own framing), the upstream's x-request-id replaced by ours.
 */
export function responseHeaders(raw: readonly Buffer[] | readonly string[], requestId: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i] as Buffer | string;
    // The llhttp client hands over latin1 strings already; undici hands over Buffers.
    const name = typeof rawName === 'string' ? rawName : rawName.toString('latin1');
    switch (name.length) {
      case 7:
        if (equalsLower(name, 'upgrade') || equalsLower(name, 'trailer')) continue;
        break;
      case 10:
        if (equalsLower(name, 'connection') || equalsLower(name, 'keep-alive')) continue;
        break;
      case 12:
        if (equalsLower(name, 'x-request-id')) continue;
        break;
      case 17:
        if (equalsLower(name, 'transfer-encoding')) continue;
        break;
      case 18:
        if (equalsLower(name, 'proxy-authenticate')) continue;
        break;
    }
    const value = raw[i + 1] as Buffer | string;
    out.push(name, typeof value === 'string' ? value : value.toString('latin1'));
  }
  out.push('x-request-id', requestId);
  return out;
}
