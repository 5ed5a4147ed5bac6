import { DomainError } from '../errors/domain-error.js';

/**
 * Reads a whole body, refusing it once it passes `limit` bytes: the one
 * bounded reader for admin and records requests, heartbeat replies and shard
 * replies. A client's request stream is left open on overflow (the refusal
 * still has to be answered on it); an upstream reply is destroyed so the
 * sender stops.
 */
export async function readLimited(
  body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown },
  limit: number,
  { destroyOnOverflow = false } = {},
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      if (destroyOnOverflow) body.destroy();
      throw new DomainError('BODY_TOO_LARGE', 'body', `larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}
