import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '#core/errors/domain-error.js';

/** Open /events streams allowed at once; each one renders a snapshot a second. */
export const MAX_EVENT_STREAMS = 16;
/** One snapshot event per this interval, per stream. */
export const SNAPSHOT_EVENT_INTERVAL_MS = 1000;
/** The `retry:` hint: how long a client waits before reconnecting. */
export const RECONNECT_HINT_MS = 2000;
/** A full server asks clients to come back after this long. */
const FULL_RETRY_AFTER_S = 5;

/**
 * GET /events: server-sent events, one `snapshot` event a second carrying
 * the /status JSON. Bounded: at most MAX_EVENT_STREAMS at once, each with
 * its own timer that stops when the connection closes, and a client that
 * does not keep up skips snapshots rather than buffering them.
 */
export class SnapshotEvents {
  private open = 0;

  constructor(
    private readonly render: () => unknown,
    private readonly limits = {
      maxStreams: MAX_EVENT_STREAMS,
      intervalMs: SNAPSHOT_EVENT_INTERVAL_MS,
      retryMs: RECONNECT_HINT_MS,
    },
  ) {}

  get streams(): number {
    return this.open;
  }

  serve(_req: IncomingMessage, res: ServerResponse): void {
    if (this.open >= this.limits.maxStreams) {
      res.setHeader('retry-after', String(FULL_RETRY_AFTER_S));
      throw new DomainError(
        'UNAVAILABLE',
        undefined,
        `${this.limits.maxStreams} event streams are open, the most this proxy serves; close one or poll /status`,
      );
    }
    this.open++;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.write(`retry: ${this.limits.retryMs}\n\n`);
    const send = () => {
      // JSON.stringify escapes newlines, so the snapshot is one data line.
      if (!res.writableNeedDrain) res.write(`event: snapshot\ndata: ${JSON.stringify(this.render())}\n\n`);
    };
    send();
    const timer = setInterval(send, this.limits.intervalMs).unref();
    res.once('close', () => {
      clearInterval(timer);
      this.open--;
    });
  }
}
