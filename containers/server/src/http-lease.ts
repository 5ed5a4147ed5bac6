import { request } from 'undici';
import type { LeaseTarget } from '#core/ports/lease.js';

/** A heartbeat slower than this counts as failed; the next one retries. */
const HEARTBEAT_TIMEOUT_MS = 2000;

/** The proxy's lease registry (local runs): PUT/DELETE /members/:id on its admin port. A 410 means removed. */
export class HttpLease implements LeaseTarget {
  constructor(
    private readonly url: string,
    private readonly id: string,
    private readonly address: string,
    private readonly weight: number,
    private readonly token: string | undefined,
  ) {}

  async beat(): Promise<'ok' | 'removed'> {
    const res = await request(this.memberUrl(), {
      method: 'PUT',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ address: this.address, weight: this.weight }),
      signal: AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS),
    });
    const text = await res.body.text();
    if (res.statusCode === 410) return 'removed';
    if (res.statusCode !== 200) throw new Error(`registry answered ${res.statusCode}: ${text}`);
    return 'ok';
  }

  async leave(): Promise<void> {
    const res = await request(this.memberUrl(), {
      method: 'DELETE',
      headers: this.headers(),
      signal: AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS),
    });
    await res.body.dump();
  }

  private memberUrl(): string {
    return `${this.url.replace(/\/$/, '')}/${encodeURIComponent(this.id)}`;
  }

  private headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }
}
