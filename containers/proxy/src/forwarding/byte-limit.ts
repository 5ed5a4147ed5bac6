import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { BodyTooLargeError } from './errors.js';

/**
 * Passes a body of unknown length through, failing once it exceeds `limit`.
 * Only chunked uploads pay for this stream; a declared Content-Length is
 * checked before anything is read.
 */
export class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly limit: number) {
    super();
    // The source's errors are passed on here (forwardError), also after the upstream client has let go
    // of the body (an early answer, an abort): unheard then, they must not crash the process.
    this.on('error', ignoreError);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) callback(new BodyTooLargeError(this.limit));
    else callback(null, chunk);
  }
}

/** The upstream client hears a body's failure through its own listener; this one only keeps it from being unhandled. */
function ignoreError(): void {}

const kLimited = Symbol('ringmaster.limitedBody');
type SourceWithLimit = Readable & { [kLimited]?: ByteLimit };

/** Shared 'error' listener: pipe() does not pass a source's error on, so a bad upload would hang. */
function forwardError(this: SourceWithLimit, err: Error): void {
  this[kLimited]?.destroy(err);
}

/** `source` through a ByteLimit, with the source's errors (malformed body, timeout, abort) passed on. */
export function limitBody(source: Readable, limit: number): ByteLimit {
  const limited = new ByteLimit(limit);
  (source as SourceWithLimit)[kLimited] = limited;
  source.on('error', forwardError);
  return source.pipe(limited);
}
