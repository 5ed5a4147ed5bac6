import { createServer, type Server, type Socket } from 'node:net';
import { createParser, type HttpParser, type LlhttpBinding, loadLlhttp } from '#proxy/forwarding/http1/llhttp.js';

/**
 * A backend for the HTTP corpus and the differential fuzzer: a raw TCP server
 * that reads requests with Node's bundled llhttp in strict mode (no lenient
 * flag: the parser node:http uses without insecureHTTPParser), records each
 * request exactly as that parser read it, and answers with whatever bytes its
 * responder returns, so a test can send odd framing, extra bytes after a
 * response, or a response that breaks HTTP/1.1 on a kept-alive connection.
 */

/** One request as the strict parser read it. */
export interface RecordedRequest {
  /** Which upstream connection it came on (1, 2, …). */
  readonly connection: number;
  /** Its place on that connection (0, 1, …). */
  readonly indexOnConnection: number;
  readonly method: string;
  readonly url: string;
  readonly version: string;
  /** Flat [name, value, …] list, as received. */
  readonly headers: readonly string[];
  readonly body: Buffer;
  /** The request asked for a protocol upgrade (llhttp's flag: Connection: upgrade with Upgrade, or CONNECT). */
  readonly upgrade: boolean;
  /** For an upgrade request: what its connection carried after it. */
  readonly afterUpgrade: AfterUpgrade | undefined;
}

/** What a connection carried after an upgrade request, where llhttp stops reading HTTP. */
export interface AfterUpgrade {
  /** The server answered 101 and echoes every byte it receives from then on. */
  switched: boolean;
  /** Every byte received after the request's end, in order (echoed back when switched). */
  readonly bytes: Buffer[];
}

/** Bytes the strict parser refused: the proxy sent something no strict server would read. */
export interface RecordedParseError {
  readonly connection: number;
  readonly code: string;
  readonly reason: string;
  /** Everything received on that connection, latin1. */
  readonly received: string;
}

/**
 * What to answer: raw bytes, then whether to close (FIN) or reset the
 * connection, or (to an upgrade request, after a 101) to echo every byte that
 * comes next until the other side closes.
 */
export interface Answer {
  readonly bytes: string | Buffer;
  readonly after?: 'keep' | 'close' | 'reset' | 'echo';
}

export type Responder = (request: RecordedRequest) => Answer;

/** Header value by name (the last one), case-insensitively. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === name) found = headers[i + 1];
  }
  return found;
}

/** A plain 200 answer with a JSON body and its Content-Length. */
export function jsonAnswer(value: unknown, extraHeaders = ''): string {
  const body = JSON.stringify(value);
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n${extraHeaders}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const MAX_HEADER_BYTES = 64 * 1024;

export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  readonly parseErrors: RecordedParseError[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private connections = 0;
  private readonly llhttp: LlhttpBinding = loadLlhttp({ setting: 'the recording server', fallback: '' });
  port = 0;

  constructor(private readonly respond: Responder) {}

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections open now. */
  get open(): number {
    return this.sockets.size;
  }

  /** Connections switched to echoing (after a 101) and still open. */
  get openTunnels(): number {
    return this.tunnels.size;
  }
  private readonly tunnels = new Set<Socket>();

  async start(): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.port = (server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  private serve(socket: Socket): void {
    const connection = ++this.connections;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.tunnels.delete(socket);
      parser.close();
    });
    let received = '';
    let index = 0;
    let headers: string[] = [];
    let url = '';
    let method = '';
    let version = '';
    let upgrade = false;
    let keepAlive = true;
    let body: Buffer[] = [];
    let done = false;
    let inBody = false;
    /** Set once an upgrade request has been read and answered with a close or a 101: llhttp reads nothing after it. */
    let afterUpgrade: AfterUpgrade | undefined;
    /** An upgrade declined on a kept-alive connection: HTTP goes on, read by a new parser (llhttp stops at one). */
    let resumeHttp = false;
    const carry = (bytes: Buffer) => {
      if (afterUpgrade === undefined || bytes.length === 0) return;
      afterUpgrade.bytes.push(Buffer.from(bytes));
      if (afterUpgrade.switched && !socket.writableEnded) socket.write(bytes);
    };
    const { llhttp } = this;
    const callbacks: Parameters<typeof createParser>[3] = {
      onHeaders: (h: string[], u: string) => {
        // After the head these are a chunked body's trailers (node's binding repeats the target with them): dropped.
        if (inBody) return;
        headers.push(...h);
        url += u;
      },
      onHeadersComplete: (major, minor, h, m, u, _s, _m, up, ka) => {
        if (h !== undefined) headers.push(...h);
        if (u !== undefined) url += u;
        inBody = true;
        method = llhttp.methods[m] ?? '?';
        version = `${major}.${minor}`;
        upgrade = up;
        keepAlive = ka;
        return 0;
      },
      onBody: (chunk: Buffer) => {
        body.push(Buffer.from(chunk));
      },
      onMessageComplete: () => {
        inBody = false;
        if (upgrade) afterUpgrade = { switched: false, bytes: [] };
        const request: RecordedRequest = {
          connection,
          indexOnConnection: index++,
          method,
          url,
          version,
          headers,
          body: Buffer.concat(body),
          upgrade,
          afterUpgrade,
        };
        headers = [];
        url = '';
        body = [];
        this.requests.push(request);
        if (done) return;
        const answer = this.respond(request);
        socket.write(answer.bytes);
        const after = answer.after ?? (keepAlive && !upgrade ? 'keep' : 'close');
        if (after === 'echo' && afterUpgrade !== undefined) {
          done = true;
          afterUpgrade.switched = true;
          this.tunnels.add(socket);
        } else if (after === 'close' || after === 'echo') {
          done = true;
          socket.end();
        } else if (after === 'reset') {
          done = true;
          socket.resetAndDestroy();
        } else if (upgrade) {
          // Declined, and the connection kept (RFC 9110 §7.8 allows it): what follows is read as HTTP again.
          afterUpgrade = undefined;
          resumeHttp = true;
        }
      },
    };
    let parser: HttpParser = createParser(llhttp, llhttp.REQUEST, MAX_HEADER_BYTES, callbacks);
    const feed = (chunk: Buffer): void => {
      if (afterUpgrade !== undefined) {
        carry(chunk);
        return;
      }
      if (done) return;
      const result = parser.execute(chunk);
      if (typeof result !== 'number') {
        done = true;
        this.parseErrors.push({ connection, code: result.code, reason: result.message, received });
        socket.destroy();
      } else if (upgrade && resumeHttp) {
        resumeHttp = false;
        upgrade = false;
        parser.close();
        parser = createParser(llhttp, llhttp.REQUEST, MAX_HEADER_BYTES, callbacks);
        if (result < chunk.length) feed(chunk.subarray(result));
      } else if (upgrade) {
        // llhttp stops at an upgrade; what follows is not HTTP: recorded (and echoed after a 101), never parsed.
        done = true;
        carry(chunk.subarray(result));
      }
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      feed(chunk);
    });
  }
}
