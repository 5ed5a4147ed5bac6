import { WebSocket } from 'ws';

/** Opening one WebSocket (connect, upgrade, 101) must take less than this. */
const OPEN_TIMEOUT_MS = 10_000;
/** An echo slower than this counts as an error and its socket is dropped. */
const ECHO_TIMEOUT_MS = 10_000;
/** A close handshake slower than this: the socket is cut. */
const CLOSE_TIMEOUT_MS = 5_000;
/** After a long-lived socket closes or fails to open, wait this long before opening it again. */
const REOPEN_BACKOFF_MS = 1000;
/**
 * A long-lived socket is replaced (closed, then reopened with a new key) after its lifetime (this by
 * default) times 0.5 to 1.5, spread by its index so they do not all turn over at once. Sockets opened after a
 * server joined then land on it too, and some are open when it is removed.
 */
export const LONG_LIVED_LIFETIME_MS = 120_000;

export interface TunnelLoadOptions {
  /** The proxy's ws:// base URL; sockets go to `${url}/ws?request_id=…`. */
  readonly url: string;
  /** Sockets held open the whole run, each sending a text message every `messageEveryMs`. */
  readonly longLived: number;
  readonly messageEveryMs: number;
  /** Replace each long-lived socket after about this long (default LONG_LIVED_LIFETIME_MS). */
  readonly lifetimeMs?: number;
  /** Short sockets started per second: open, one message and its echo, close. */
  readonly churnPerSecond: number;
  /** At most this many short sockets at once: a slow proxy gets fewer, not a pile-up. */
  readonly churnConcurrency: number;
}

export interface TunnelLoadReport {
  readonly opened: number;
  readonly closedByUs: number;
  /** Closes the client did not ask for, by WebSocket close code (1001: the server left; 1006: no close frame). */
  readonly closedByPeer: Record<string, number>;
  readonly messages: number;
  readonly errors: Record<string, number>;
  readonly resets: number;
}

/** Errors that mean the connection was reset under the socket. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * WebSocket tunnels through a proxy for the soak: a set of long-lived sockets
 * exchanging checked echoes with the backend's /ws, and short sockets opened
 * and closed continuously. Bounded: every open, echo and close has a timeout,
 * nothing starts after `deadline`, and the churn's concurrency is capped.
 */
export class TunnelLoad {
  private opened = 0;
  private closedByUs = 0;
  private readonly closedByPeer = new Map<string, number>();
  private messages = 0;
  private readonly errors = new Map<string, number>();
  private resets = 0;
  private churning = 0;
  private keySeq = 0;

  constructor(private readonly options: TunnelLoadOptions) {}

  /** Runs until `deadline` (a performance.now() time), then closes every socket it holds. */
  async run(deadline: number): Promise<void> {
    const longLived = Array.from({ length: this.options.longLived }, (_, i) => this.holdOpen(i, deadline));
    const churned: Promise<void>[] = [];
    const everyMs = 1000 / this.options.churnPerSecond;
    const churner = setInterval(() => {
      if (performance.now() >= deadline || this.churning >= this.options.churnConcurrency) return;
      churned.push(this.churnOne());
    }, everyMs);
    await Promise.all(longLived);
    clearInterval(churner);
    await Promise.all(churned);
  }

  report(): TunnelLoadReport {
    return {
      opened: this.opened,
      closedByUs: this.closedByUs,
      closedByPeer: Object.fromEntries(this.closedByPeer),
      messages: this.messages,
      errors: Object.fromEntries(this.errors),
      resets: this.resets,
    };
  }

  private count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private fail(where: string, err: unknown): void {
    const code = (err as { code?: string }).code;
    if (code && RESET_CODES.has(code)) this.resets++;
    this.count(this.errors, `${where}: ${code ?? (err instanceof Error ? err.message : String(err))}`);
  }

  /**
   * One long-lived socket: open, echo every messageEveryMs, replace it when its lifetime is up and reopen it
   * when the peer closes it, until the deadline.
   */
  private async holdOpen(index: number, deadline: number): Promise<void> {
    const lifetimeMs =
      (this.options.lifetimeMs ?? LONG_LIVED_LIFETIME_MS) * (0.5 + index / Math.max(1, this.options.longLived));
    let seq = 0;
    while (performance.now() < deadline) {
      let ws: WebSocket;
      try {
        ws = await this.open();
      } catch (err) {
        this.fail('open', err);
        await sleep(Math.min(REOPEN_BACKOFF_MS, Math.max(0, deadline - performance.now())));
        continue;
      }
      const replaceAt = Math.min(deadline, performance.now() + lifetimeMs);
      // Set in the same turn as the close, so the loop below never mistakes a peer's close for an echo error.
      let closeCode: number | undefined;
      let endedByUs = false;
      const closed = new Promise<void>((resolve) =>
        ws.once('close', (code: number) => {
          closeCode = code;
          resolve();
        }),
      );
      try {
        while (performance.now() < replaceAt && closeCode === undefined) {
          await this.echo(ws, `long-${index}-${seq++}`);
          await Promise.race([sleep(Math.min(this.options.messageEveryMs, replaceAt - performance.now())), closed]);
        }
      } catch (err) {
        if (closeCode === undefined) {
          this.fail('long-lived echo', err);
          endedByUs = true;
          ws.terminate();
          await closed;
        }
      }
      if (closeCode === undefined) {
        endedByUs = true;
        await this.close(ws);
      }
      if (!endedByUs) {
        this.count(this.closedByPeer, String(closeCode));
        await sleep(Math.min(REOPEN_BACKOFF_MS, Math.max(0, deadline - performance.now())));
      }
    }
  }

  /** One short socket: open, one echo, close. */
  private async churnOne(): Promise<void> {
    this.churning++;
    try {
      const ws = await this.open();
      try {
        await this.echo(ws, `short-${this.keySeq}`);
        await this.close(ws);
      } catch (err) {
        this.fail('short echo', err);
        ws.terminate();
      }
    } catch (err) {
      this.fail('open', err);
    } finally {
      this.churning--;
    }
  }

  private open(): Promise<WebSocket> {
    const key = (this.keySeq++ * 7919) % 1_000_000;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.options.url}/ws?request_id=${key}`, { perMessageDeflate: false });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`not open within ${OPEN_TIMEOUT_MS} ms`));
      }, OPEN_TIMEOUT_MS);
      ws.once('open', () => {
        clearTimeout(timer);
        this.opened++;
        // Errors after opening surface as a close (and are counted there or by echo); keep them from throwing.
        ws.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code && RESET_CODES.has(err.code)) this.resets++;
        });
        resolve(ws);
      });
      ws.once('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        res.resume();
        ws.terminate();
        reject(new Error(`upgrade answered ${res.statusCode}`));
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Sends `text` and waits for the server's `{"server":…,"message":text}`. */
  private echo(ws: WebSocket, text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no echo within ${ECHO_TIMEOUT_MS} ms`));
      }, ECHO_TIMEOUT_MS);
      const onMessage = (data: Buffer, isBinary: boolean) => {
        cleanup();
        let message: unknown;
        try {
          message = isBinary ? undefined : (JSON.parse(data.toString('utf8')) as { message?: unknown }).message;
        } catch {
          message = undefined;
        }
        if (message !== text) return reject(new Error('wrong echo'));
        this.messages++;
        resolve();
      };
      const onClose = () => {
        cleanup();
        reject(new Error('closed before the echo'));
      };
      const cleanup = () => {
        clearTimeout(timer);
        ws.off('message', onMessage);
        ws.off('close', onClose);
      };
      ws.on('message', onMessage);
      ws.once('close', onClose);
      ws.send(text);
    });
  }

  private close(ws: WebSocket): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      ws.once('close', () => {
        clearTimeout(timer);
        this.closedByUs++;
        resolve();
      });
      ws.close(1000);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
