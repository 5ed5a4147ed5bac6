import { createParser, type LlhttpBinding, loadLlhttp } from '#proxy/forwarding/http1/llhttp.js';
import { headerValue } from './recording-server.js';

/**
 * The reference reading of a stream: what a strict HTTP/1.1 parser (Node's
 * llhttp, no lenient flag) finds in the client's bytes, and of the proxy's
 * answers. The fuzzer's oracle holds the proxy to it: nothing reaches a
 * server that this reading does not contain, and what does reach one is the
 * same request.
 */

let binding: LlhttpBinding | undefined;
function llhttp(): LlhttpBinding {
  binding ??= loadLlhttp({ setting: 'the fuzzer', fallback: '' });
  return binding;
}

const FUZZ_ID = /^\d+\.x?\d+$/;
const FUZZ_PATH = /\/f\/(\d+\.x?\d+)/;

/** The fuzz id a request carries: its X-Fuzz-Id field, else the one in its target. */
export function fuzzIdOf(headers: readonly string[], url: string): string | undefined {
  const field = headerValue(headers, 'x-fuzz-id');
  if (field !== undefined && FUZZ_ID.test(field)) return field;
  return FUZZ_PATH.exec(url)?.[1];
}

export interface ReferenceRequest {
  readonly id: string | undefined;
  readonly method: string;
  readonly url: string;
  readonly headers: readonly string[];
  readonly body: Buffer;
  /** False for a last request whose head is whole but whose body the bytes leave unfinished. */
  readonly complete: boolean;
}

export interface ReferenceReading {
  readonly requests: ReferenceRequest[];
  /** The parser's error code when the bytes stop being HTTP/1.1 (after `requests`). */
  readonly error: string | undefined;
  /** A request asked to upgrade (or CONNECT): the parser stops there. */
  readonly upgraded: boolean;
  /** The bytes end inside a head: a request begun and never finished, which a server may time out (408). */
  readonly partialHead: boolean;
  /**
   * When the upgrade request (the last one) is one the proxy tunnels: its
   * Upgrade protocols, as the proxy forwards them (see tunnelProtocols).
   */
  readonly tunnel: string | undefined;
  /** The bytes after an upgrade request's end: tunnel bytes after a 101, nobody's otherwise. */
  readonly afterUpgrade: Buffer;
}

/** The values of every field named `name` (lower case), in order. */
function fieldValues(headers: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === name) values.push(headers[i + 1] as string);
  }
  return values;
}

const listHas = (value: string, token: string) => value.split(',').some((t) => t.trim().toLowerCase() === token);

/**
 * Which upgrade requests the proxy must carry as tunnels (its rule, restated
 * here so the oracle does not trust the code it checks; a unit test holds the
 * two to the same table): not HEAD or CONNECT, no body (no Transfer-Encoding,
 * no Content-Length but 0), Connection lists `upgrade`, and the Upgrade
 * list (every Upgrade field, joined) is not empty and offers no `h2c`.
 * Returns that list, or undefined for an upgrade served as plain HTTP.
 */
export function tunnelProtocols(method: string, headers: readonly string[]): string | undefined {
  if (method === 'HEAD' || method === 'CONNECT') return undefined;
  if (fieldValues(headers, 'transfer-encoding').length > 0) return undefined;
  if (fieldValues(headers, 'content-length').some((v) => v.trim() !== '0')) return undefined;
  if (!fieldValues(headers, 'connection').some((v) => listHas(v, 'upgrade'))) return undefined;
  const upgrade = fieldValues(headers, 'upgrade');
  const protocols = upgrade.join(', ').trim();
  if (upgrade.length === 0 || protocols === '') return undefined;
  if (protocols.split(',').some((p) => (p.trim().split('/')[0] as string).toLowerCase() === 'h2c')) return undefined;
  return protocols;
}

/** Reads `bytes` as a strict server would. */
export function readRequests(bytes: Buffer, maxHeaderBytes: number): ReferenceReading {
  const b = llhttp();
  const requests: ReferenceRequest[] = [];
  let headers: string[] = [];
  let url = '';
  let method = '';
  let body: Buffer[] = [];
  let upgraded = false;
  let inBody = false;
  const parser = createParser(b, b.REQUEST, maxHeaderBytes, {
    onHeaders: (h: string[], u: string) => {
      // After the head these are a chunked body's trailers (node's binding repeats the target with them): dropped.
      if (inBody) return;
      headers.push(...h);
      url += u;
    },
    onHeadersComplete: (_major, _minor, h, m, u, _s, _msg, upgrade) => {
      if (h !== undefined) headers.push(...h);
      if (u !== undefined) url += u;
      inBody = true;
      method = b.methods[m] ?? '?';
      if (upgrade) upgraded = true;
      return 0;
    },
    onBody: (chunk: Buffer) => {
      body.push(Buffer.from(chunk));
    },
    onMessageComplete: () => {
      inBody = false;
      requests.push({ id: fuzzIdOf(headers, url), method, url, headers, body: Buffer.concat(body), complete: true });
      headers = [];
      url = '';
      body = [];
    },
  });
  const result = parser.execute(bytes);
  // At the end of the bytes the parser is between messages, inside a body (below), or inside a head.
  const partialHead = typeof result === 'number' && !inBody && !upgraded && parser.finish() !== undefined;
  parser.close();
  // A head read whole, its body (or an upgrade's, or CONNECT's, which end HTTP on the connection) not yet.
  // One whose bytes then broke is no request: the answer is the refusal of the bytes (counted with `error`).
  if (inBody && typeof result === 'number') {
    requests.push({ id: fuzzIdOf(headers, url), method, url, headers, body: Buffer.concat(body), complete: false });
  }
  // llhttp stops at the end of an upgrade request (the last one): what follows is not HTTP.
  const last = requests[requests.length - 1];
  const ended = upgraded && typeof result === 'number' && last?.complete === true;
  return {
    requests,
    error: typeof result === 'number' ? undefined : result.code,
    upgraded,
    partialHead,
    tunnel: ended ? tunnelProtocols(last.method, last.headers) : undefined,
    afterUpgrade: ended ? bytes.subarray(result) : Buffer.alloc(0),
  };
}

export interface ClientResponse {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: Buffer;
}

export interface ResponseReading {
  /** Final (non-1xx) responses read whole, in order. */
  readonly responses: ClientResponse[];
  /** The bytes broke HTTP/1.1 (a malformed response, or bytes after a closing one). */
  readonly error: string | undefined;
  /**
   * A 101 Switching Protocols after `responses` (answering the next request):
   * HTTP ends there, and `tunnel` is every byte after it.
   */
  readonly switched: { readonly response: ClientResponse; readonly tunnel: Buffer } | undefined;
}

/**
 * Reads the proxy's answers strictly: `methods` are the requests' methods in
 * order (a HEAD answer has no body); 1xx answers are skipped. A response cut
 * short is not counted. A close-delimited body ends with the bytes.
 */
/** Whether a response's fields say `Connection: close`. */
function closesConnection(headers: readonly string[]): boolean {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === 'connection' && /\bclose\b/i.test(headers[i + 1] as string))
      return true;
  }
  return false;
}

export function readResponses(bytes: Buffer, methods: readonly string[], closed: boolean): ResponseReading {
  const strict = readResponsesAs(bytes, methods, closed, -1);
  // A 408 that closes the connection may answer a message whose head the proxy had not finished reading
  // (the rest of it still unread when the timeout struck, as under a stalled event loop): that is no
  // request yet, so there is no method to honour and its JSON body comes framed by Content-Length before
  // the close. Read that one answer so; nothing can follow it, so no later answer can be misread.
  const last = strict.responses.length - 1;
  if (strict.error === 'HPE_CLOSED_CONNECTION' && methods[last] === 'HEAD' && strict.responses[last]?.status === 408) {
    const lenient = readResponsesAs(bytes, methods, closed, last);
    const answer = lenient.responses[last];
    if (lenient.error === undefined && answer?.status === 408 && closesConnection(answer.headers)) return lenient;
  }
  return strict;
}

/** The strict reading; the answer at `timeoutAnswerWithBody`, if a 408, is framed by its fields even for a HEAD. */
function readResponsesAs(
  bytes: Buffer,
  methods: readonly string[],
  closed: boolean,
  timeoutAnswerWithBody: number,
): ResponseReading {
  const b = llhttp();
  const responses: ClientResponse[] = [];
  let headers: string[] = [];
  let status = 0;
  let body: Buffer[] = [];
  let final = 0;
  let interim = false;
  let switched: ClientResponse | undefined;
  const parser = createParser(b, b.RESPONSE, 256 * 1024, {
    onHeaders: (h: string[]) => {
      headers.push(...h);
    },
    onHeadersComplete: (_major, _minor, h, _m, _u, s) => {
      if (h !== undefined) headers.push(...h);
      status = s;
      interim = s < 200;
      // llhttp stops after any 101 (execute returns where): the bytes after it are the tunnel's.
      if (s === 101) switched = { status, headers: [...headers], body: Buffer.alloc(0) };
      const method = methods[final] ?? 'GET';
      const headAnswer = method === 'HEAD' && !(final === timeoutAnswerWithBody && s === 408);
      return interim || headAnswer || s === 204 || s === 304 ? 1 : 0;
    },
    onBody: (chunk: Buffer) => {
      body.push(Buffer.from(chunk));
    },
    onMessageComplete: () => {
      if (!interim) {
        responses.push({ status, headers, body: Buffer.concat(body) });
        final++;
      }
      headers = [];
      body = [];
      interim = false;
    },
  });
  const result = parser.execute(bytes);
  if (switched !== undefined && typeof result === 'number') {
    parser.close();
    return { responses, error: undefined, switched: { response: switched, tunnel: bytes.subarray(result) } };
  }
  let error = typeof result === 'number' ? undefined : result.code;
  if (error === undefined && closed) {
    // The close ends a close-delimited body; a body cut short is not an error of the bytes' form.
    const end = parser.finish();
    if (end !== undefined && end.code !== 'HPE_INVALID_EOF_STATE') error = end.code;
  }
  parser.close();
  return { responses, error, switched: undefined };
}
