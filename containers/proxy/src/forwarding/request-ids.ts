import { randomBytes } from 'node:crypto';

/**
 * Request ids unique across replicas without a random draw per request:
 * a per-process random prefix and a counter.
 */
export class RequestIds {
  private readonly prefix = `${randomBytes(4).toString('hex')}-`;
  private sequence = 0;

  next(): string {
    this.sequence++;
    return this.prefix + this.sequence.toString(36);
  }
}
