// Reads the admin port's /events stream with fetch, because EventSource cannot
// send an Authorization header. The token therefore never goes into a URL
// (where logs and history keep it) or a cookie (which the browser would attach
// to cross-site requests too).

/** Used until the server's `retry:` hint arrives. */
const DEFAULT_RETRY_MS = 2000;
/** A stream that sends this much without an event boundary is broken; start over. */
const MAX_PENDING_CHARS = 8 * 1024 * 1024;

/**
 * Opens the stream and keeps it open, reconnecting after the server's retry
 * hint. Calls `onSnapshot(report)` per event, `onState(text, live)` on
 * connection changes, and `onUnauthorized()` (then stops) on a 401.
 * Returns a function that closes the stream for good.
 */
export function openSnapshotStream({ token, onSnapshot, onState, onUnauthorized }) {
  const controller = new AbortController();
  let retryMs = DEFAULT_RETRY_MS;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch('/events', {
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
          cache: 'no-store',
          signal: controller.signal,
        });
        if (res.status === 401) {
          onUnauthorized();
          return;
        }
        if (!res.ok || !res.body) throw new Error(`the proxy answered ${res.status}`);
        onState('Live', true);
        for await (const event of readEvents(res.body)) {
          if (event.retry !== undefined) retryMs = event.retry;
          if (event.type === 'snapshot') onSnapshot(JSON.parse(event.data));
        }
        onState('The proxy closed the stream; reconnecting…', false);
      } catch (err) {
        if (controller.signal.aborted) return;
        onState(`Disconnected (${err instanceof Error ? err.message : String(err)}); reconnecting…`, false);
      }
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };
  run();
  return () => controller.abort();
}

/** Server-sent events from a response body: { type, data, retry }. */
async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    if (pending.length > MAX_PENDING_CHARS) throw new Error('an event too large to be a snapshot');
    for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      yield parseEvent(block);
    }
  }
}

function parseEvent(block) {
  const event = { type: 'message', data: '', retry: undefined };
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event.type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'retry' && /^\d+$/.test(value)) event.retry = Number(value);
  }
  event.data = data.join('\n');
  return event;
}
