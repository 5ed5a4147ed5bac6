import { Readable } from 'node:stream';

/** What a request body stream asks of its connection when the consumer wants more. */
export interface BodySource {
  bodyWanted(): void;
}

/**
 * A request body as a stream for undici. The connection pushes what the
 * parser delivers; a full buffer pauses the socket (backpressure) and the
 * consumer's next read resumes it.
 */
export class RequestBody extends Readable {
  constructor(private readonly source: BodySource) {
    super();
  }

  override _read(): void {
    this.source.bodyWanted();
  }
}
