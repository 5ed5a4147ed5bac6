import { createRequire } from 'node:module';

/**
 * Node's bundled llhttp, reached through `require('_http_common').HTTPParser`:
 * the parser node:http itself uses, so the `net` data plane refuses exactly
 * what node:http refuses (same llhttp build, same strict flags), and the
 * upstream client reads responses with the same build. It is a Node internal
 * with no stability promise, so start-up checks it is there and behaves as
 * this code expects (parses of a known request and known responses), and
 * fails with a message naming the setting that asked for it and its fallback
 * (DATA_PLANE=http, UPSTREAM_CLIENT=undici) otherwise. Verified on Node 20.x
 * (llhttp 8 and 9) and 24.21 (llhttp 9.4); the callback slots and arguments
 * below are those of lib/_http_common.js in Node 18 to 24.
 */

/** Thrown at start-up when the internal parser is missing or behaves differently. */
export class DataPlaneUnavailableError extends Error {
  override readonly name = 'DataPlaneUnavailableError';
}

export type OnHeaders = (this: HttpParser, headers: string[], url: string) => void;
export type OnHeadersComplete = (
  this: HttpParser,
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  statusCode: number,
  statusMessage: string,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number | undefined;
export type OnBody = (this: HttpParser, body: Buffer) => void;
export type OnMessageComplete = (this: HttpParser) => void;

/** One llhttp parser instance (the subset used here). */
export interface HttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes parsed, or an Error with `code` (HPE_*) and `bytesParsed`. */
  execute(data: Buffer): number | ParseError;
  /** Signals end of input: an Error if a message was cut short. */
  finish(): undefined | ParseError;
  close(): void;
  [slot: number]: unknown;
}

export interface ParseError extends Error {
  readonly code: string;
  readonly bytesParsed: number;
}

export interface LlhttpBinding {
  readonly HTTPParser: new () => HttpParser;
  readonly methods: readonly string[];
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  /** Strict parsing (no lenient flags), as node:http without insecureHTTPParser. */
  readonly kLenientNone: number;
}

const INTERNAL = '_http_common';

interface HttpCommon {
  HTTPParser?: (new () => HttpParser) & Record<string, unknown>;
  methods?: unknown;
}

/** Who needs the parser, for the start-up message: the setting that asked for it and its fallback. */
export interface LlhttpUser {
  /** For example `DATA_PLANE=net`. */
  readonly setting: string;
  /** For example `Set DATA_PLANE=http to use node:http instead.` */
  readonly fallback: string;
}

const NET_DATA_PLANE: LlhttpUser = {
  setting: 'DATA_PLANE=net',
  fallback: 'Set DATA_PLANE=http to use node:http instead.',
};

/** Loads and checks the parser; throws DataPlaneUnavailableError with what is wrong. */
export function loadLlhttp(user: LlhttpUser = NET_DATA_PLANE): LlhttpBinding {
  const fail = (what: string, cause?: unknown): never => {
    throw new DataPlaneUnavailableError(
      `${user.setting} needs Node's bundled llhttp parser (require('${INTERNAL}').HTTPParser), ` +
        `but on Node ${process.version} ${what}. ${user.fallback}`,
      { cause },
    );
  };
  let common: HttpCommon = {};
  try {
    // A computed name keeps bundlers from trying to resolve the internal at build time.
    common = createRequire(import.meta.url)(INTERNAL) as HttpCommon;
  } catch (cause) {
    fail('it cannot be loaded', cause);
  }
  const P = common.HTTPParser;
  if (typeof P !== 'function') return fail('HTTPParser is missing');
  const slots = [
    'REQUEST',
    'RESPONSE',
    'kOnHeaders',
    'kOnHeadersComplete',
    'kOnBody',
    'kOnMessageComplete',
    'kOnExecute',
  ];
  for (const name of slots) if (typeof P[name] !== 'number') fail(`HTTPParser.${name} is missing`);
  for (const name of ['initialize', 'execute', 'finish', 'close']) {
    if (typeof (P.prototype as Record<string, unknown>)[name] !== 'function') fail(`HTTPParser#${name} is missing`);
  }
  if (!Array.isArray(common.methods)) fail('the methods table is missing');
  const binding: LlhttpBinding = {
    HTTPParser: P,
    methods: common.methods as string[],
    REQUEST: P.REQUEST as number,
    RESPONSE: P.RESPONSE as number,
    kOnHeaders: P.kOnHeaders as number,
    kOnHeadersComplete: P.kOnHeadersComplete as number,
    kOnBody: P.kOnBody as number,
    kOnMessageComplete: P.kOnMessageComplete as number,
    kOnExecute: P.kOnExecute as number,
    kLenientNone: typeof P.kLenientNone === 'number' ? P.kLenientNone : 0,
  };
  selfTest(binding, fail);
  responseSelfTest(binding, fail);
  return binding;
}

/** The callbacks a parser drives; module-level functions on the hot path, so no closure per connection. */
export interface ParserCallbacks {
  readonly onHeaders: OnHeaders | (() => void);
  readonly onHeadersComplete: OnHeadersComplete;
  readonly onBody: OnBody;
  readonly onMessageComplete: OnMessageComplete | (() => void);
}

/** A strict parser of `type` (REQUEST or RESPONSE) wired to `callbacks`: one per connection. */
export function createParser(
  b: LlhttpBinding,
  type: number,
  maxHeaderBytes: number,
  callbacks: ParserCallbacks,
): HttpParser {
  const parser = new b.HTTPParser();
  parser.initialize(type, {}, maxHeaderBytes, b.kLenientNone);
  parser[b.kOnHeaders] = callbacks.onHeaders;
  parser[b.kOnHeadersComplete] = callbacks.onHeadersComplete;
  parser[b.kOnBody] = callbacks.onBody;
  parser[b.kOnMessageComplete] = callbacks.onMessageComplete;
  return parser;
}

/** Parses one known request and checks every callback delivers what this code reads. */
function selfTest(b: LlhttpBinding, fail: (what: string) => never): void {
  const seen: string[] = [];
  const parser = createParser(b, b.REQUEST, 1024, {
    onHeaders: () => seen.push('partial'),
    onHeadersComplete: (major, minor, headers, method, url, _s, _m, upgrade, keepAlive) => {
      seen.push(`${major}.${minor} ${b.methods[method]} ${url} ${headers?.join('|')} ${upgrade} ${keepAlive}`);
      return 0;
    },
    onBody: (body) => seen.push(`body ${body.toString('latin1')}`),
    onMessageComplete: () => seen.push('complete'),
  });
  const request = 'POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi';
  const parsed = parser.execute(Buffer.from(request, 'latin1'));
  parser.close();
  const expected = ['1.1 POST /x?y=1 Host|a|Content-Length|2 false true', 'body hi', 'complete'];
  if (parsed !== request.length || seen.join('\n') !== expected.join('\n')) {
    fail(`it parsed a known request differently (${JSON.stringify(seen)}, ${String(parsed)})`);
  }
}

/**
 * Parses known responses as the upstream client reads them: a 1xx skipped by
 * returning 1, a body by length, a HEAD answer whose body is skipped the same
 * way, and a body delimited by the end of the stream (finish()).
 */
function responseSelfTest(b: LlhttpBinding, fail: (what: string) => never): void {
  const seen: string[] = [];
  const parse = (response: string, skipBody: boolean, atEnd: boolean) => {
    const parser = createParser(b, b.RESPONSE, 1024, {
      onHeaders: () => seen.push('partial'),
      onHeadersComplete: (major, minor, headers, _method, _url, status, _m, upgrade, keepAlive) => {
        seen.push(`${major}.${minor} ${status} ${headers?.join('|')} ${upgrade} ${keepAlive}`);
        return status < 200 || skipBody ? 1 : 0;
      },
      onBody: (body) => seen.push(`body ${body.toString('latin1')}`),
      onMessageComplete: () => seen.push('complete'),
    });
    const parsed = parser.execute(Buffer.from(response, 'latin1'));
    if (parsed !== response.length) seen.push(`parsed ${String(parsed)}`);
    if (atEnd && parser.finish() !== undefined) seen.push('finish failed');
    parser.close();
  };
  parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi', false, false);
  parse('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n', true, false);
  parse('HTTP/1.0 200 OK\r\nX: y\r\n\r\nbye', false, true);
  const expected = [
    '1.1 100  false true',
    'complete',
    '1.1 200 Content-Length|2 false true',
    'body hi',
    'complete',
    '1.1 200 Content-Length|9 false true',
    'complete',
    '1.0 200 X|y false false',
    'body bye',
    'complete',
  ];
  if (seen.join('\n') !== expected.join('\n')) {
    fail(`it parsed known responses differently (${JSON.stringify(seen)})`);
  }
}
