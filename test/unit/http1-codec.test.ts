import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LAST_CHUNK, stringChunk, writeChunk } from '#proxy/forwarding/http1/chunked.js';
import { Http1Connection } from '#proxy/forwarding/http1/connection.js';
import { requestHead } from '#proxy/forwarding/http1/framing.js';
import { loadLlhttp } from '#proxy/forwarding/http1/llhttp.js';
import { SWEEP_MAX_INTERVAL_MS, SweepTimer, sweepIntervalMs } from '#proxy/forwarding/http1/sweep.js';

/**
 * The shared pieces of the HTTP/1 codec (`forwarding/http1/`) on their own:
 * the request head's framing, chunked coding read back by the strict
 * parser, the connection base's head accumulation over a real socket, and
 * the sweep's period. The corpus and the upstream tests cover them inside
 * the two sides.
 */

const llhttp = loadLlhttp();

describe('requestHead: framing from what the proxy parsed, never from a header value', () => {
  it('says content-length for a body of known length, chunked for an unknown one', () => {
    expect(requestHead('POST', '/x', ['host', 'a'], 'b:1', 35, true)).toBe(
      'POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 35\r\n\r\n',
    );
    expect(requestHead('POST', '/x', ['host', 'a'], 'b:1', -1, true)).toBe(
      'POST /x HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n',
    );
  });

  it('says content-length: 0 for a POST, PUT or PATCH without a body, and nothing for a GET', () => {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      expect(requestHead(method, '/', ['Host', 'a'], 'b:1', -1, false)).toContain('content-length: 0\r\n');
    }
    expect(requestHead('GET', '/', ['Host', 'a'], 'b:1', -1, false)).toBe('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });

  it('adds the backend as Host only when the request has none, in any case', () => {
    expect(requestHead('GET', '/', [], '127.0.0.1:9', -1, false)).toBe('GET / HTTP/1.1\r\nhost: 127.0.0.1:9\r\n\r\n');
    expect(requestHead('GET', '/', ['HoSt', 'a'], '127.0.0.1:9', -1, false)).not.toContain('127.0.0.1:9');
  });
});

/** A loopback server that keeps every byte it receives on its one connection. */
async function receiver(): Promise<{ server: Server; port: number; bytes: () => Buffer; ended: Promise<void> }> {
  const chunks: Buffer[] = [];
  let markEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  const server = createServer((socket) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      socket.end();
      markEnded();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return { server, port, bytes: () => Buffer.concat(chunks), ended };
}

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

describe('chunked coding', () => {
  it('writes chunks the strict parser reads back byte for byte, the head first when it is still unwritten', async () => {
    const r = await receiver();
    servers.push(r.server);
    const socket = connect(r.port, '127.0.0.1');
    sockets.push(socket);
    await once(socket, 'connect');
    const head = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n';
    const first = Buffer.alloc(300, 'a');
    expect(writeChunk(socket, first, head)).toBe(true);
    writeChunk(socket, Buffer.from('bc'));
    socket.write(stringChunk('é!'), 'utf8');
    socket.end(LAST_CHUNK, 'latin1');
    await r.ended;

    const body: Buffer[] = [];
    let complete = false;
    const parser = new llhttp.HTTPParser();
    parser.initialize(llhttp.RESPONSE, {}, 1024, llhttp.kLenientNone);
    parser[llhttp.kOnHeadersComplete] = () => 0;
    parser[llhttp.kOnBody] = (b: Buffer) => body.push(Buffer.from(b));
    parser[llhttp.kOnMessageComplete] = () => {
      complete = true;
    };
    const wire = r.bytes();
    expect(parser.execute(wire)).toBe(wire.length);
    parser.close();
    expect(wire.toString('latin1').startsWith(`${head}12c\r\n`)).toBe(true);
    expect(complete).toBe(true);
    // 'é' is two bytes in UTF-8: the size line counts bytes, not characters.
    expect(Buffer.concat(body).toString('utf8')).toBe(`${'a'.repeat(300)}bcé!`);
  });
});

/** A minimal server side over the base: records each head as the base hands it over, and the body. */
class RecordingConnection extends Http1Connection {
  readonly heads: { url: string | undefined; headers: string[] }[] = [];
  readonly bodies: string[] = [];
  private inBody = false;

  constructor(socket: Socket) {
    super(socket, llhttp, llhttp.REQUEST, 64 * 1024);
  }
  protected get readingBody(): boolean {
    return this.inBody;
  }
  data(chunk: Buffer): void {
    const result = this.parser.execute(chunk);
    if (typeof result !== 'number') throw result;
  }
  ended(): void {
    this.socket.end();
  }
  socketError(): void {}
  closed(): void {
    this.parser.close();
  }
  headersComplete(
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    _method: number,
    url: string | undefined,
  ): number {
    this.heads.push({ url: this.takeUrl(url), headers: this.takeHeaders(headers) });
    this.inBody = true;
    this.bodies.push('');
    return 0;
  }
  body(chunk: Buffer): void {
    this.bodies[this.bodies.length - 1] += chunk.toString('latin1');
  }
  messageComplete(): void {
    // No resetHead() here, unlike the two real sides: the test shows the base itself keeps trailers out.
    this.inBody = false;
  }
}

describe('Http1Connection: the head llhttp hands over in parts', () => {
  it('joins a head of many fields split across reads, and drops a chunked body’s trailers', async () => {
    let connection: RecordingConnection | undefined;
    const server = createServer((s) => {
      connection = new RecordingConnection(s);
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const socket = connect((server.address() as { port: number }).port, '127.0.0.1');
    sockets.push(socket);
    await once(socket, 'connect');

    const names = Array.from({ length: 40 }, (_, i) => `x-field-${i}`);
    const head = `POST /a/long/target?with=query HTTP/1.1\r\nHost: t\r\n${names.map((n) => `${n}: v\r\n`).join('')}`;
    // Split inside the target (a read ends mid-head), and more than 32 fields, which llhttp hands over in parts.
    const cut = head.indexOf('target');
    socket.write(head.slice(0, cut));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write(head.slice(cut));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write('transfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nx-trailer: t\r\n\r\n');
    socket.end('GET /next HTTP/1.1\r\nHost: t\r\n\r\n');
    await once(socket, 'close');

    const heads = connection?.heads ?? [];
    expect(heads.map((h) => h.url)).toEqual(['/a/long/target?with=query', '/next']);
    const fields = heads[0]?.headers.filter((_, i) => i % 2 === 0);
    expect(fields).toEqual(['Host', ...names, 'transfer-encoding']);
    // The trailer is not taken for the next request's head.
    expect(heads[1]?.headers).toEqual(['Host', 't']);
    expect(connection?.bodies).toEqual(['hi', '']);
  });
});

describe('the sweep', () => {
  it('runs within its bounds: at most every SWEEP_MAX_INTERVAL_MS, at least every 10 ms', () => {
    expect(sweepIntervalMs(10_000)).toBe(SWEEP_MAX_INTERVAL_MS);
    expect(sweepIntervalMs(400)).toBe(400);
    expect(sweepIntervalMs(400, 4)).toBe(100);
    expect(sweepIntervalMs(20, 4)).toBe(10);
  });

  it('calls its sweep with the time until stopped', async () => {
    const seen: number[] = [];
    const timer = new SweepTimer(10, (now) => seen.push(now));
    timer.start();
    timer.start();
    expect(timer.running).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 60));
    timer.stop();
    const count = seen.length;
    expect(count).toBeGreaterThan(0);
    expect(seen.every((t, i) => i === 0 || t > (seen[i - 1] as number))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(seen.length).toBe(count);
    expect(timer.running).toBe(false);
  });
});
