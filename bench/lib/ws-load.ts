/**
 * The WebSocket bench's load generator (`dist/bench/ws-load.js`), run as its
 * own process so its CPU is never counted in a measured proxy's process tree.
 *
 *   node dist/bench/ws-load.js --url ws://127.0.0.1:P/ws --connections 64 --bytes 1024 --seconds 5
 *
 * Opens every connection (each with its own request_id, so a hashing proxy
 * spreads them), prints `{"ready":true}` (or `{"ready":false,"error":…}` and
 * exits 1), waits for a line on stdin, then runs a closed loop: each
 * connection sends one binary message, waits for its echo, records the
 * round trip in an HDR histogram and sends the next, until `--seconds` pass.
 * It prints one JSON line with the counts and latencies, closes, and exits.
 * Bounded: opening, each echo and the whole run have timeouts.
 */
import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { WebSocket } from 'ws';

/** What one run measured; the bench reads this line from stdout. */
export interface WsLoadResult {
  readonly messages: number;
  readonly elapsedS: number;
  readonly messagesPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** This generator's own CPU over the window, as a share of one core: near 1 means it, not the target, may be the limit. */
  readonly generatorCpuShare: number;
  /** Errors by kind (a failed connection, an early close, a wrong echo, an echo that never came). */
  readonly errors: Record<string, number>;
}

export type WsLoadReady = { readonly ready: true } | { readonly ready: false; readonly error: string };

/** Opening all connections must take less than this. */
const OPEN_TIMEOUT_MS = 15_000;
/** An echo slower than this ends its connection's loop and counts as an error. */
const ECHO_TIMEOUT_MS = 10_000;
/** How long to wait for the word to start before giving up (the bench died). */
const GO_TIMEOUT_MS = 120_000;
/** Bytes at the start of each message that carry its sequence number, to check the echo is this message's. */
const SEQ_BYTES = 4;

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`${name}: required`);
  return value;
}

function positiveInt(name: string): number {
  const n = Number(arg(name));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got "${arg(name)}"`);
  return n;
}

const url = arg('--url');
const connections = positiveInt('--connections');
const bytes = positiveInt('--bytes');
const seconds = Number(arg('--seconds'));
if (!(seconds > 0 && seconds <= 600)) throw new Error(`--seconds: expected 0 < s <= 600, got "${arg('--seconds')}"`);
if (bytes <= SEQ_BYTES) throw new Error(`--bytes: more than ${SEQ_BYTES} (the sequence number)`);

const errors: Record<string, number> = {};
const countError = (kind: string) => {
  errors[kind] = (errors[kind] ?? 0) + 1;
};

function open(i: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const sep = url.includes('?') ? '&' : '?';
    const ws = new WebSocket(`${url}${sep}request_id=${(i * 7919 + 1) % 1_000_000}`, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connection ${i} did not open within ${OPEN_TIMEOUT_MS} ms`));
    }, OPEN_TIMEOUT_MS);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    // Anything but a 101: say what came back, since that is how a proxy without tunnels shows.
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 300) body += d;
      });
      res.on('end', () =>
        reject(new Error(`the upgrade was answered ${res.statusCode} instead of 101: ${body.trim()}`)),
      );
      res.on('error', () => reject(new Error(`the upgrade was answered ${res.statusCode} instead of 101`)));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** One connection's closed loop until `deadline`; resolves with the messages it completed. */
function loop(ws: WebSocket, deadline: number, histogram: hdr.Histogram): Promise<number> {
  return new Promise((resolve) => {
    const payload = Buffer.alloc(bytes, 0x61);
    let seq = 0;
    let sentAt = 0;
    let done = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(echoTimer);
      resolve(done);
    };
    let echoTimer: NodeJS.Timeout | undefined;
    const send = () => {
      payload.writeUInt32BE(seq, 0);
      sentAt = performance.now();
      echoTimer = setTimeout(() => {
        countError('echo timeout');
        finish();
      }, ECHO_TIMEOUT_MS);
      ws.send(payload, { binary: true });
    };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      // An echo arriving after its timeout ended this loop is not counted.
      if (finished) return;
      clearTimeout(echoTimer);
      const rttUs = Math.max(1, Math.round((performance.now() - sentAt) * 1000));
      // The server's binary echo: its id, 0x0A, then our bytes. Check length, our sequence number, the tail.
      const ours = data.subarray(data.length - bytes);
      if (!isBinary || data.length <= bytes || ours.readUInt32BE(0) !== seq || ours[bytes - 1] !== 0x61) {
        countError('wrong echo');
        finish();
        return;
      }
      histogram.recordValue(rttUs);
      done++;
      seq++;
      if (performance.now() < deadline) send();
      else finish();
    });
    ws.on('close', (code) => {
      if (!finished) countError(`closed early (${code})`);
      finish();
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      countError(err.code ?? 'socket error');
      finish();
    });
    send();
  });
}

async function waitForGo(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const timer = setTimeout(() => {
    process.stderr.write(`ws-load: no start signal within ${GO_TIMEOUT_MS} ms\n`);
    process.exit(1);
  }, GO_TIMEOUT_MS);
  let started = false;
  for await (const _line of lines) {
    started = true;
    break;
  }
  clearTimeout(timer);
  lines.close();
  if (!started) {
    // stdin closed without a word: the bench is gone, so there is nobody to measure for.
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const opened = await Promise.allSettled(Array.from({ length: connections }, (_, i) => open(i)));
  const sockets = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    for (const ws of sockets) ws.terminate();
    const error = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
    process.stdout.write(`${JSON.stringify({ ready: false, error } satisfies WsLoadReady)}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ ready: true } satisfies WsLoadReady)}\n`);
  await waitForGo();

  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  const counts = await Promise.all(sockets.map((ws) => loop(ws, start + seconds * 1000, histogram)));
  const elapsedS = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const messages = counts.reduce((a, b) => a + b, 0);
  const ms = (us: number) => Math.round(us / 10) / 100;
  const result: WsLoadResult = {
    messages,
    elapsedS: Math.round(elapsedS * 1000) / 1000,
    messagesPerS: Math.round(messages / elapsedS),
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    maxMs: ms(histogram.maxValue),
    generatorCpuShare: Math.round(((cpu.user + cpu.system) / 1e6 / elapsedS) * 100) / 100,
    errors,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const ws of sockets) ws.close(1000);
  // Give the close handshakes a moment, never more.
  setTimeout(() => process.exit(0), 1000).unref();
}

main().catch((err: unknown) => {
  process.stderr.write(`ws-load failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
