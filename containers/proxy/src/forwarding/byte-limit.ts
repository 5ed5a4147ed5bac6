import { Transform, type TransformCallback } from 'node:stream';
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
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) callback(new BodyTooLargeError(this.limit));
    else callback(null, chunk);
  }
}
