import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { startTestProxy, type TestProxy } from '../helpers/processes.js';
import { type FuzzStream, generateStream } from './generator.js';
import { type Answer, headerValue, type RecordedRequest, RecordingServer } from './recording-server.js';
import { type ClientResponse, fuzzIdOf, type ReferenceReading, readRequests, readResponses } from './reference.js';

/**
 * The differential HTTP/1.1 fuzzer: generated request streams go raw,
 * concurrently and with short timeouts, through the proxy on every data
 * plane × upstream client to a recording server whose strict parser logs
 * what it receives; the proxy is held to a strict reading of the same bytes
 * (reference.ts). For every stream:
 *
 * 1. the requests the server parsed are, in order and one to one, requests of
 *    the strict reading (so nothing was smuggled), each answered to its own
 *    client unless the server's answer was broken on purpose;
 * 2. method, target and body bytes are the same on both sides, and each
 *    carries the proxy's X-Forwarded-For and request id;
 * 3. what the proxy refused (its own 4xx) reached no server;
 * 4. no client receives another request's response, including when the
 *    server's answer carries a stray second response or broken framing on a
 *    pooled connection (the recording server picks an answer per request);
 * 5. upgrades: only a request the proxy tunnels (reference.ts's
 *    tunnelProtocols) reaches the server as an upgrade. The server answers it
 *    with a 101 and then echoes (after a marker), or refuses it. After a 101
 *    the client gets that 101 (the server's Upgrade, the request id), the
 *    marker, then its own bytes back: the server received, as tunnel bytes, a
 *    prefix of what the client sent after the upgrade request and nothing
 *    else. After a refusal, those bytes reach nobody. A request pipelined
 *    behind an upgrade is tunnel bytes, never a request (check 1).
 */

export const COMBOS = [
  { plane: 'net', client: 'llhttp' },
  { plane: 'http', client: 'llhttp' },
  { plane: 'net', client: 'undici' },
  { plane: 'http', client: 'undici' },
] as const;
export type Combo = (typeof COMBOS)[number];

export interface Finding {
  readonly finding: string;
  readonly combo: string;
  readonly seed: number;
  readonly stream: number;
  readonly detail: string;
  /** The client's bytes (latin1 as base64), or the upstream bytes for a server parse error. */
  readonly bytes: string;
}

export interface FuzzOptions {
  readonly seed: number;
  readonly streams: number;
  /** First stream number (a slice of a longer range). */
  readonly first?: number;
  /** Streams in flight per combo. */
  readonly concurrency?: number;
  readonly combos?: readonly Combo[];
  /** Only these answer modes (default: all). */
  readonly answerModes?: readonly AnswerMode[];
  readonly onFinding?: (f: Finding) => void;
  /** Called every 500 streams with the streams done so far (per combo). */
  readonly onProgress?: (done: number) => void;
  /** Called for every stream checked, with what each side saw (for --show). */
  readonly onChecked?: (combo: string, run: StreamRun, records: readonly RecordedRequest[]) => void;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly first: number;
  readonly streams: number;
  readonly combos: string[];
  readonly findings: number;
  readonly ms: number;
  /** Across combos: requests in the strict reading, forwarded to the server, and answered by the proxy itself. */
  readonly requests: number;
  readonly forwarded: number;
  readonly refusedByProxy: number;
  /** Streams whose client received a 101, and those of them that got back every byte they sent after it. */
  readonly tunnelled: number;
  readonly echoedWhole: number;
}

const MAX_HEADER_BYTES = 4096;
const MAX_BODY_BYTES = 160;
/** A stream ends once the proxy has said nothing for this long… */
const IDLE_MS = 200;
/**
 * …or, for a stream that may open a tunnel, this long: the proxy writes the
 * client's held bytes upstream as it joins the two sides, so their echo
 * follows the 101 at once, and a silence this long means bytes were lost.
 */
const TUNNEL_IDLE_MS = 1000;
/** …or at this, whatever happens (a hung stream must not cost seconds). */
const STREAM_CAP_MS = 1500;
/** How long after its client finished a stream is checked (what reaches the server by then is judged with it). */
const SETTLE_MS = 400;
/** How long a proxy may take to stop (its shutdown timeout is 3 s) before it is killed and reported. */
const STOP_MS = 8000;
/** Statuses the proxy answers itself for a request it refuses (never forwarded). */
const REFUSALS = new Set([400, 405, 408, 413, 414, 417, 431, 501]);

/** How the recording server answers a request: mostly well, sometimes oddly or brokenly. */
export const ANSWER_MODES = [
  'length',
  'length',
  'length',
  'length',
  'length',
  'length',
  'length',
  'length',
  'chunked',
  'chunked',
  'stray-after',
  'connection-lists-length',
  'interim-100',
  'close-delimited',
  'length-and-chunked',
  'cut-short',
  'two-lengths',
  'no-content-with-bytes',
] as const;
export type AnswerMode = (typeof ANSWER_MODES)[number];
/** Modes after which the proxy cannot deliver the answer (a 502, or a cut connection). */
const BROKEN_MODES: ReadonlySet<AnswerMode> = new Set(['length-and-chunked', 'cut-short', 'two-lengths']);
/**
 * undici also fails a request whose 204 arrives with bytes after it, and one
 * answered by an unsolicited 100 (see the HTTP corpus's response cases): safe,
 * but undelivered.
 */
const BROKEN_FOR_UNDICI: ReadonlySet<AnswerMode> = new Set([...BROKEN_MODES, 'no-content-with-bytes', 'interim-100']);
/** The stray response some answers carry after themselves: no client may ever see it. */
const STRAY = 'HTTP/1.1 200 OK\r\nx-fuzz-echo: stray\r\ncontent-length: 5\r\n\r\nstray';

let modes: readonly AnswerMode[] = ANSWER_MODES;
function answerModeOf(seed: number, id: string): AnswerMode {
  const h = createHash('sha1').update(`${seed}/${id}`).digest();
  return modes[(h[0] as number) % modes.length] as AnswerMode;
}

/** An upgrade request is answered 101 (then an echo) two times in three; otherwise as any request, then closed. */
function upgradeAnswerOf(seed: number, id: string): AnswerMode | 'switch' {
  const h = createHash('sha1').update(`${seed}/${id}`).digest();
  return (h[1] as number) % 3 === 0 ? answerModeOf(seed, id) : 'switch';
}

/** What the server writes right after its 101, before echoing: which request's tunnel this is. */
export function tunnelMarker(id: string): string {
  return `TUNNEL${id}\n`;
}

function answerFor(seed: number, request: RecordedRequest): Answer {
  const id = fuzzIdOf(request.headers, request.url);
  // The proxy's health checks get a plain answer: a backend taken out of rotation would hide everything.
  if (id === undefined) return { bytes: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok' };
  const mode = answerModeOf(seed, id);
  const xrid = headerValue(request.headers, 'x-request-id') ?? '';
  const body = request.method === 'HEAD' ? '' : JSON.stringify({ id, n: request.body.length });
  const echo = `x-fuzz-echo: ${id}\r\nx-fuzz-xrid: ${xrid}\r\n`;
  const length = `content-length: ${JSON.stringify({ id, n: request.body.length }).length}\r\n`;
  const plain = `HTTP/1.1 200 OK\r\n${echo}${length}\r\n${body}`;
  if (!request.upgrade) return plainAnswer(mode, echo, plain, length, body);
  if (upgradeAnswerOf(seed, id) === 'switch') {
    const upgrade = `connection: upgrade\r\nupgrade: ${headerValue(request.headers, 'upgrade') ?? ''}\r\n`;
    return { bytes: `HTTP/1.1 101 Switching Protocols\r\n${upgrade}${echo}\r\n${tunnelMarker(id)}`, after: 'echo' };
  }
  // Declined: half the time the connection is kept and read as HTTP again (so a proxy that sent the client's
  // held bytes would have them parsed as requests), else closed with a Connection: close that says so first
  // (a proxy may reuse a connection until then, and the bytes of another client's request are no finding).
  const declined = plainAnswer(mode, echo, plain, length, body);
  const h = createHash('sha1').update(`${seed}/${id}`).digest();
  if ((h[2] as number) % 2 === 0 && declined.after === undefined) return { ...declined, after: 'keep' };
  return { bytes: declined.bytes.toString().replace(echo, `${echo}connection: close\r\n`), after: 'close' };
}

/** The answer to a request that did not ask to upgrade, by its mode. */
function plainAnswer(mode: AnswerMode, echo: string, plain: string, length: string, body: string): Answer {
  switch (mode) {
    case 'length':
      return { bytes: plain };
    case 'chunked': {
      const chunks = body.length === 0 ? '' : `${body.length.toString(16)};x=1\r\n${body}\r\n`;
      return { bytes: `HTTP/1.1 200 OK\r\n${echo}transfer-encoding: chunked\r\n\r\n${chunks}0\r\nx-t: 1\r\n\r\n` };
    }
    case 'stray-after':
      return { bytes: plain + STRAY };
    case 'connection-lists-length':
      return { bytes: `HTTP/1.1 200 OK\r\nconnection: keep-alive, content-length\r\n${echo}${length}\r\n${body}` };
    case 'interim-100':
      return { bytes: `HTTP/1.1 100 Continue\r\n\r\n${plain}` };
    case 'close-delimited':
      return { bytes: `HTTP/1.1 200 OK\r\n${echo}\r\n${body}`, after: 'close' };
    case 'length-and-chunked':
      return { bytes: `HTTP/1.1 200 OK\r\n${echo}${length}transfer-encoding: chunked\r\n\r\n0\r\n\r\n` };
    case 'cut-short':
      return { bytes: `HTTP/1.1 200 OK\r\n${echo}content-length: 1000\r\n\r\n${body}`, after: 'close' };
    case 'two-lengths':
      return { bytes: `HTTP/1.1 200 OK\r\n${echo}${length}content-length: 7\r\n\r\n${body}` };
    case 'no-content-with-bytes':
      return { bytes: `HTTP/1.1 204 No Content\r\n${echo}\r\n${STRAY}` };
  }
}

/** What one client saw on its connection. */
interface Conversation {
  readonly bytes: Buffer;
  /** The proxy closed the connection (FIN or reset). */
  readonly closedByProxy: boolean;
  /** The client stopped waiting because the proxy had said nothing for its idle time. */
  readonly quiet: boolean;
  /** What the client did once it read a 101. */
  readonly afterSwitch: AfterSwitch;
}

/**
 * What a client does once it reads the 101: wait for the echo of its bytes;
 * half-close (end its side: the server, which closes when its client ends,
 * must still have its echo reach the client, then the proxy's end); or reset
 * the connection (the proxy must close the server's side: no socket leaks).
 */
type AfterSwitch = 'wait' | 'half-close' | 'reset';
function afterSwitchOf(seed: number, stream: number): AfterSwitch {
  const h = createHash('sha1').update(`${seed}/${stream}/after-switch`).digest();
  return (['wait', 'wait', 'wait', 'half-close', 'reset'] as const)[(h[0] as number) % 5] as AfterSwitch;
}

/**
 * Writes the stream's bytes and reads until every answer is in, or after a
 * 101 until `tunnel` (the marker and the echo of the bytes sent after the
 * upgrade request) is, or the proxy goes quiet.
 */
function converse(
  port: number,
  s: FuzzStream,
  expectedAnswers: number,
  methods: readonly string[],
  tunnel: Buffer | undefined,
  afterSwitch: AfterSwitch,
): Promise<Conversation> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closedByProxy = false;
    let settled = false;
    let quiet = false;
    let switched = false;
    let idle: NodeJS.Timeout | undefined;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      clearTimeout(cap);
      if (switched && afterSwitch === 'reset') socket.resetAndDestroy();
      else socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closedByProxy, quiet, afterSwitch: switched ? afterSwitch : 'wait' });
    };
    const cap = setTimeout(finish, STREAM_CAP_MS);
    const idleMs = tunnel === undefined ? IDLE_MS : TUNNEL_IDLE_MS;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        quiet = true;
        finish();
      }, idleMs);
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      armIdle();
      // Every answer is in: no need to wait for the idle timeout.
      const reading = readResponses(Buffer.concat(chunks), methods, false);
      if (reading.responses.length >= expectedAnswers) finish();
      else if (reading.switched !== undefined && tunnel !== undefined) {
        if (!switched) {
          switched = true;
          if (afterSwitch === 'reset') return finish();
          // After the writes already queued: the server reads every byte, then the end.
          if (afterSwitch === 'half-close') socket.end();
        }
        // A half-closed client waits for the proxy's end, which follows the echo.
        if (afterSwitch === 'wait' && reading.switched.tunnel.length >= tunnel.length) finish();
      }
    });
    socket.on('error', () => {
      closedByProxy = true;
    });
    socket.on('end', () => {
      closedByProxy = true;
    });
    socket.on('close', () => {
      closedByProxy = closedByProxy || !settled;
      finish();
    });
    socket.on('connect', () => {
      let at = 0;
      for (const split of [...s.splits, s.bytes.length]) {
        if (split <= at) continue;
        socket.write(s.bytes.subarray(at, split));
        at = split;
      }
      armIdle();
    });
  });
}

/** One combo's proxy and recording server, and the records not yet checked. */
class Target {
  server: RecordingServer;
  proxy: TestProxy | undefined;
  port = 0;
  /** Server records by stream, from the start of the batch being checked. */
  private consumed = 0;
  private parseErrorsSeen = 0;

  constructor(
    readonly combo: Combo,
    readonly seed: number,
  ) {
    this.server = new RecordingServer((request) => answerFor(seed, request));
  }

  get name(): string {
    return `${this.combo.plane}/${this.combo.client}`;
  }

  async start(): Promise<void> {
    await this.server.start();
    this.proxy = await startTestProxy({
      DATA_PLANE: this.combo.plane,
      UPSTREAM_CLIENT: this.combo.client,
      MEMBERSHIP: 'static',
      STATIC_SERVERS: `rec=${this.server.address}`,
      MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      MAX_HEADER_COUNT: '30',
      CLIENT_HEADERS_TIMEOUT_MS: '300',
      CLIENT_REQUEST_TIMEOUT_MS: '400',
      // One attempt: a request the server saw twice would be a finding, not a retry.
      MAX_ATTEMPTS: '1',
      EJECT_CONSECUTIVE_FAILURES: '1000',
      HEALTH_INTERVAL_MS: '60000',
      UPSTREAM_HEADERS_TIMEOUT_MS: '1000',
      // Its clients are gone when it stops: no need to wait for traffic to go quiet.
      SHUTDOWN_TIMEOUT_MS: '3000',
      UPSTREAM_BODY_TIMEOUT_MS: '1000',
    });
    this.port = Number(new URL(this.proxy.url).port);
  }

  /** SIGTERM, and SIGKILL after STOP_MS: a proxy that cannot stop is a finding, not a hung run. */
  async stop(): Promise<number | string | null> {
    const proxy = this.proxy;
    let code: number | string | null = null;
    if (proxy !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<string>((r) => {
        timer = setTimeout(() => r(`still running ${STOP_MS} ms after SIGTERM`), STOP_MS);
      });
      code = await Promise.race([proxy.stop(), late]);
      clearTimeout(timer);
      if (typeof code === 'string') proxy.child.kill('SIGKILL');
    }
    await this.server.stop();
    return code;
  }

  /** Server records not yet checked, by stream. */
  private readonly waiting = new Map<number, RecordedRequest[]>();

  /** Moves new server records into `waiting`; returns those no stream can claim. */
  collect(): RecordedRequest[] {
    const unclaimed: RecordedRequest[] = [];
    const all = this.server.requests;
    for (; this.consumed < all.length; this.consumed++) {
      const r = all[this.consumed] as RecordedRequest;
      const id = fuzzIdOf(r.headers, r.url);
      if (id === undefined) {
        // The proxy's own health checks carry no X-Forwarded-For.
        if (headerValue(r.headers, 'x-forwarded-for') !== undefined || r.url !== '/heartbeat') unclaimed.push(r);
        continue;
      }
      const stream = Number(id.slice(0, id.indexOf('.')));
      const list = this.waiting.get(stream);
      if (list === undefined) this.waiting.set(stream, [r]);
      else list.push(r);
    }
    return unclaimed;
  }

  /** The records of `stream`, removed from `waiting`. */
  take(stream: number): RecordedRequest[] {
    const list = this.waiting.get(stream) ?? [];
    this.waiting.delete(stream);
    return list;
  }

  /** Streams with records waiting. */
  get waitingStreams(): number[] {
    return [...this.waiting.keys()];
  }

  takeParseErrors(): { code: string; reason: string; received: string }[] {
    const errors = this.server.parseErrors.slice(this.parseErrorsSeen);
    this.parseErrorsSeen = this.server.parseErrors.length;
    return errors;
  }
}

export interface StreamRun {
  readonly stream: FuzzStream;
  readonly reference: ReferenceReading;
  readonly conversation: Conversation;
}

const b64 = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s).toString('base64');

/** Runs `streams` streams from `seed` through every combo; calls onFinding for each finding. */
export async function fuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const started = performance.now();
  const { seed, streams } = options;
  const first = options.first ?? 0;
  const concurrency = options.concurrency ?? 32;
  const combos = options.combos ?? COMBOS;
  modes = options.answerModes ?? ANSWER_MODES;
  let findings = 0;
  const counts = { requests: 0, forwarded: 0, refusedByProxy: 0, tunnelled: 0, echoedWhole: 0 };
  const targets = combos.map((c) => new Target(c, seed));
  const report = (f: Omit<Finding, 'seed'>) => {
    findings++;
    options.onFinding?.({ ...f, seed });
  };
  try {
    await Promise.all(targets.map((t) => t.start()));
    await Promise.all(
      targets.map(async (target) => {
        /** Streams whose records were checked: a record for one of them arriving later is a finding. */
        const checked = new Set<number>();
        const check = (runs: StreamRun[]) => {
          for (const r of target.collect()) {
            report({
              finding: 'a server received a request no stream can claim',
              combo: target.name,
              stream: -1,
              detail: `${r.method} ${r.url} ${JSON.stringify(r.headers)}`,
              bytes: b64(r.body),
            });
          }
          for (const e of target.takeParseErrors()) {
            report({
              finding: 'the server could not parse what the proxy sent',
              combo: target.name,
              stream: -1,
              detail: `${e.code}: ${e.reason}`,
              bytes: b64(e.received),
            });
          }
          for (const stream of target.waitingStreams) {
            if (!checked.has(stream)) continue;
            // Later than SETTLE_MS after its client finished (a loaded machine): judged on what arrived.
            const records = target.take(stream);
            const fuzzStream = generateStream(seed, stream);
            const late: StreamRun = {
              stream: fuzzStream,
              reference: readRequests(fuzzStream.bytes, MAX_HEADER_BYTES),
              conversation: { bytes: Buffer.alloc(0), closedByProxy: false, quiet: false, afterSwitch: 'wait' },
            };
            const problems = checkStream(late, records, seed, target.combo);
            for (const p of problems.found) {
              report({
                finding: p,
                combo: target.name,
                stream,
                detail: `(late) ${problems.detail}`,
                bytes: b64(fuzzStream.bytes),
              });
            }
          }
          for (const run of runs) {
            const records = target.take(run.stream.stream);
            checked.add(run.stream.stream);
            options.onChecked?.(target.name, run, records);
            const problems = checkStream(run, records, seed, target.combo);
            counts.requests += run.reference.requests.length;
            counts.forwarded += records.length;
            counts.refusedByProxy += problems.refused;
            counts.tunnelled += problems.tunnelled ? 1 : 0;
            counts.echoedWhole += problems.echoedWhole ? 1 : 0;
            for (const p of problems.found) {
              report({
                finding: p,
                combo: target.name,
                stream: run.stream.stream,
                detail: problems.detail,
                bytes: b64(run.stream.bytes),
              });
            }
          }
        };
        // A sliding window of `concurrency` streams; each is checked once it has been over for SETTLE_MS.
        let next = first;
        const end = first + streams;
        const over: { run: StreamRun; at: number }[] = [];
        let finished = 0;
        const worker = async () => {
          while (next < end) {
            const stream = generateStream(seed, next++);
            const reference = readRequests(stream.bytes, MAX_HEADER_BYTES);
            const methods = reference.requests.map((r) => r.method);
            const expected = reference.requests.length + (reference.error !== undefined ? 1 : 0);
            const conversation = await converse(
              target.port,
              stream,
              Math.max(1, expected),
              methods,
              expectedTunnel(reference),
              afterSwitchOf(seed, stream.stream),
            );
            over.push({ run: { stream, reference, conversation }, at: performance.now() });
            if (++finished % 500 === 0) options.onProgress?.(finished);
          }
        };
        const settled = () => {
          const ready: StreamRun[] = [];
          const before = performance.now() - SETTLE_MS;
          while (over.length > 0 && (over[0] as { at: number }).at < before)
            ready.push((over.shift() as { run: StreamRun }).run);
          return ready;
        };
        const checker = setInterval(() => check(settled()), SETTLE_MS / 4);
        await Promise.all(Array.from({ length: concurrency }, worker));
        clearInterval(checker);
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        check(over.splice(0).map((o) => o.run));
      }),
    );
    // Every exchange ended (answered, refused or abandoned): the proxy counts none still in flight.
    await new Promise((r) => setTimeout(r, 1000));
    for (const t of targets) {
      const status = await Promise.race([
        t.proxy?.admin('GET', '/status').catch((err: Error) => ({ body: { error: err.message } })),
        new Promise<{ body: { error: string } }>((r) => setTimeout(() => r({ body: { error: 'no answer' } }), 2000)),
      ]);
      // An open tunnel counts in flight on its server too, so a tunnel left open shows here as well.
      const inflight = status?.body?.message?.totals?.inflight ?? status?.body?.error;
      if (inflight !== 0) {
        report({
          finding: 'requests still counted in flight after every client left',
          combo: t.name,
          stream: -1,
          detail: `inflight ${inflight}`,
          bytes: '',
        });
      }
      const openTunnels = status?.body?.message?.tunnels?.open;
      if (t.server.openTunnels !== 0 || (openTunnels !== undefined && openTunnels !== 0)) {
        report({
          finding: 'a tunnel stayed open after every client left',
          combo: t.name,
          stream: -1,
          detail: `proxy /status tunnels.open ${openTunnels}; server connections still echoing ${t.server.openTunnels}`,
          bytes: '',
        });
      }
    }
  } finally {
    for (const t of targets) {
      const code = await t.stop();
      if (code !== 0) {
        report({
          finding: 'the proxy did not exit cleanly',
          combo: t.name,
          stream: -1,
          detail: `exit code ${code}: ${t.proxy?.stderr.slice(-30).join(' | ') ?? ''}`,
          bytes: '',
        });
      }
    }
  }
  return {
    seed,
    first,
    streams,
    combos: targets.map((t) => t.name),
    findings,
    ms: Math.round(performance.now() - started),
    ...counts,
  };
}

/** What a client that opens a tunnel gets back after the 101 when all goes well: the marker, then its bytes. */
function expectedTunnel(reference: ReferenceReading): Buffer | undefined {
  const id = reference.requests[reference.requests.length - 1]?.id;
  if (reference.tunnel === undefined || id === undefined) return undefined;
  return Buffer.concat([Buffer.from(tunnelMarker(id), 'latin1'), reference.afterUpgrade]);
}

/** Whether `part` is the start of `whole`. */
const startsWith = (whole: Buffer, part: Buffer) =>
  part.length <= whole.length && whole.subarray(0, part.length).equals(part);

/** The oracle for one stream on one combo. */
function checkStream(
  run: StreamRun,
  records: readonly RecordedRequest[],
  seed: number,
  combo: Combo,
): { found: string[]; detail: string; refused: number; tunnelled: boolean; echoedWhole: boolean } {
  const broken = combo.client === 'undici' ? BROKEN_FOR_UNDICI : BROKEN_MODES;
  const { reference, conversation } = run;
  const found: string[] = [];
  const notes: string[] = [];
  const ref = reference.requests;
  const indexOf = new Map<string, number>();
  ref.forEach((r, i) => {
    if (r.id !== undefined && !indexOf.has(r.id)) indexOf.set(r.id, i);
  });
  // llhttp stops after an upgrade request, so it is the strict reading's last.
  const upgradeAt = reference.upgraded ? ref.length - 1 : -1;
  /** The server's record of the upgrade request it answered with a 101 and an echo. */
  let switchedRecord: RecordedRequest | undefined;
  /** Requests that reached the server as upgrades (answered by upgradeAnswerOf). */
  const forwardedAsUpgrade = new Set<number>();

  // 1 and 2: every request the server read is one of the strict reading's, unchanged, stamped, in order.
  const forwarded = new Set<number>();
  let last = -1;
  for (const s of records) {
    const id = fuzzIdOf(s.headers, s.url) as string;
    const k = indexOf.get(id);
    if (k === undefined) {
      found.push('smuggled: the server read a request that the strict reading of the client bytes does not contain');
      notes.push(`server got ${s.method} ${s.url} (${id})`);
      continue;
    }
    const r = ref[k] as (typeof ref)[number];
    if (s.method !== r.method || s.url !== r.url || !s.body.equals(r.body)) {
      found.push('altered: the server read a different method, target or body');
      notes.push(`${id}: sent ${r.method} ${r.url} ${b64(r.body)}, server read ${s.method} ${s.url} ${b64(s.body)}`);
    }
    if (
      headerValue(s.headers, 'x-forwarded-for') === undefined ||
      headerValue(s.headers, 'x-request-id') === undefined
    ) {
      found.push("unstamped: a forwarded request lacks the proxy's X-Forwarded-For or request id");
    }
    if (s.upgrade) {
      forwardedAsUpgrade.add(k);
      if (k !== upgradeAt || reference.tunnel === undefined) {
        found.push('an upgrade reached the server for a request the proxy must serve as plain HTTP');
      } else if (headerValue(s.headers, 'upgrade') !== reference.tunnel) {
        found.push('altered: a tunnelled request reached the server with other Upgrade protocols');
        notes.push(`${id}: sent ${reference.tunnel}, server read ${headerValue(s.headers, 'upgrade')}`);
      }
      const after = Buffer.concat(s.afterUpgrade?.bytes ?? []);
      if (s.afterUpgrade?.switched === true) {
        switchedRecord = s;
        if (!startsWith(reference.afterUpgrade, after)) {
          found.push('tunnel bytes: the server read in the tunnel bytes the client did not send after its upgrade');
          notes.push(
            `client sent after the upgrade ${JSON.stringify(reference.afterUpgrade.toString('latin1'))}, server read ${JSON.stringify(after.toString('latin1'))}`,
          );
        }
      } else if (after.length > 0) {
        found.push('bytes after an upgrade the server refused reached it');
        notes.push(`server read after its refusal ${JSON.stringify(after.toString('latin1'))}`);
      }
    } else if (k === upgradeAt && reference.tunnel !== undefined) {
      found.push('a request the proxy tunnels reached the server without its Upgrade');
    }
    if (k <= last) {
      found.push('out of order: the server read requests out of order or twice');
      notes.push(
        `server read, in order: ${records.map((x) => `${x.method} ${fuzzIdOf(x.headers, x.url)} (connection ${x.connection} #${x.indexOnConnection}, xrid ${headerValue(x.headers, 'x-request-id')})`).join(', ')}`,
        // What the client got, since such a finding may not replay (it needs the timing of a loaded machine).
        `client received ${JSON.stringify(conversation.bytes.toString('latin1').slice(0, 800))}`,
      );
    }
    last = Math.max(last, k);
    forwarded.add(k);
  }

  // 3 and 4: the client's answers, read strictly.
  const methods = ref.map((r) => r.method);
  const reading = readResponses(conversation.bytes, methods, conversation.closedByProxy);
  if (reading.error !== undefined) {
    found.push('the client received bytes that are not HTTP/1.1');
    // What the client read, so the finding can be understood without replaying it (timing may not repeat).
    notes.push(
      `client parse: ${reading.error}; received ${JSON.stringify(conversation.bytes.toString('latin1').slice(0, 800))}`,
    );
  }
  const answers = reading.responses;
  // 5: a 101, then the tunnel; or, when the server switched, the client's connection closed without its 101.
  const switched = reading.switched;
  let echoedWhole = false;
  if (switched !== undefined) {
    const answer = switched.response;
    const upgradeId = ref[upgradeAt]?.id;
    if (switchedRecord === undefined || upgradeId === undefined) {
      found.push('a client received a 101 though no server switched protocols for it');
    } else {
      if (answers.length !== upgradeAt) {
        found.push('the 101 is not the answer to the upgrade request');
        notes.push(`${answers.length} answers before the 101, upgrade request #${upgradeAt}`);
      }
      if (headerValue(answer.headers, 'upgrade') !== headerValue(switchedRecord.headers, 'upgrade')) {
        found.push("altered: the client's 101 does not carry the Upgrade its server switched to");
      }
      if (headerValue(answer.headers, 'x-fuzz-echo') !== upgradeId) {
        found.push("crossed: a client received another request's 101");
      } else if (
        headerValue(answer.headers, 'x-request-id') === undefined ||
        headerValue(answer.headers, 'x-request-id') !== headerValue(answer.headers, 'x-fuzz-xrid')
      ) {
        found.push("unstamped: the 101's request id is missing or not the one its server saw");
      }
      const expected = expectedTunnel(reference) as Buffer;
      if (!startsWith(expected, switched.tunnel)) {
        found.push(
          'tunnel bytes: the client received after the 101 more than the marker and the echo of its own bytes',
        );
        notes.push(
          `expected ${JSON.stringify(expected.toString('latin1'))}, received ${JSON.stringify(switched.tunnel.toString('latin1'))}`,
        );
      }
      echoedWhole = switched.tunnel.length === expected.length;
      const { afterSwitch } = conversation;
      if (!echoedWhole && afterSwitch !== 'reset' && (conversation.quiet || conversation.closedByProxy)) {
        found.push('tunnel bytes lost: the client got back only part of the marker and its bytes, then nothing');
        notes.push(`received ${switched.tunnel.length} of ${expected.length} bytes after the 101 (${afterSwitch})`);
      }
      // Silence, not the stream's cap (a loaded machine): the proxy held the tunnel open after the server's end.
      if (afterSwitch === 'half-close' && conversation.quiet && !conversation.closedByProxy) {
        found.push("half-close: the client ended its side of a tunnel and never got the server's end");
      }
    }
  } else if (switchedRecord !== undefined && conversation.closedByProxy && reading.error === undefined) {
    found.push('switched but never delivered: the server answered 101 and the client, its connection closed, got none');
  }
  // Bytes left hanging (a head never finished, or bytes after an upgrade the proxy serves as plain HTTP) may
  // earn one more answer when the client waits past the proxy's timeouts: its 408, which closes the connection.
  const lastAnswer = answers[answers.length - 1];
  const timedOutTail =
    (reference.partialHead || reference.upgraded) &&
    lastAnswer?.status === 408 &&
    headerValue(lastAnswer.headers, 'x-fuzz-echo') === undefined;
  const allowed = ref.length + (reference.error !== undefined ? 1 : 0) + (timedOutTail ? 1 : 0);
  if (answers.length > allowed) {
    found.push('the client received more responses than it sent requests');
    const statuses = answers.map((a) => `${a.status} ${headerValue(a.headers, 'x-fuzz-echo') ?? '-'}`).join(', ');
    notes.push(`strict reading: ${ref.map((r) => `${r.method} ${r.url}`).join(', ')}; answers: ${statuses}`);
  }
  let refused = 0;
  answers.forEach((a: ClientResponse, k: number) => {
    const echo = headerValue(a.headers, 'x-fuzz-echo');
    if (echo === undefined) {
      if (REFUSALS.has(a.status)) {
        refused++;
        if (forwarded.has(k)) found.push('a request the proxy refused reached the server');
        // A refusal that closes the connection ends it: nothing after it may be forwarded.
        const closes = headerValue(a.headers, 'connection')?.toLowerCase().includes('close') === true;
        for (const later of forwarded) {
          if (closes && later > k) found.push('a request after one the proxy refused reached the server');
        }
      }
      return;
    }
    const r = ref[k];
    if (r === undefined || echo !== r.id) {
      found.push("crossed: a client received another request's response");
      notes.push(`answer ${k} echoes ${echo}, request was ${r?.id}`);
      return;
    }
    if (headerValue(a.headers, 'x-request-id') !== headerValue(a.headers, 'x-fuzz-xrid')) {
      found.push("crossed: the answer's request id is not the one its server saw");
    }
  });
  // Forwarded, not answered, on a connection the proxy closed, though the server answered well.
  if (conversation.closedByProxy) {
    for (const k of forwarded) {
      const r = ref[k];
      if (k < answers.length || r === undefined || r.id === undefined) continue;
      // A switch is checked above, with or without its 101.
      const mode = forwardedAsUpgrade.has(k) ? upgradeAnswerOf(seed, r.id) : answerModeOf(seed, r.id);
      if (mode !== 'switch' && !broken.has(mode) && reading.error === undefined) {
        found.push('forwarded but never answered: the server read a request whose client got no answer');
        notes.push(`request ${k} (${r.id})`);
      }
    }
  }
  return {
    found: [...new Set(found)],
    detail: notes.join('; '),
    refused,
    tunnelled: switched !== undefined,
    echoedWhole,
  };
}
