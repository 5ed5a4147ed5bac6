import type { Logger } from 'pino';
import { request } from 'undici';

/** A heartbeat slower than this counts as failed; the next one retries. */
const HEARTBEAT_TIMEOUT_MS = 2000;

/** Keeps a server in the fleet's membership while it runs. */
export interface Registration {
  /** Registers once (so traffic can start at once), then keeps the lease alive. */
  start(): Promise<void>;
  /** Leaves the membership (clean shutdown). */
  stop(): Promise<void>;
}

/**
 * Self-registration into the proxy's lease registry (local runs): the server
 * heartbeats its address so it gets traffic within one heartbeat of
 * starting, and deregisters on a clean shutdown. A 410 means an operator
 * removed it (/rm), and the server shuts itself down rather than coming back.
 */
export class HttpRegistration implements Registration {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly url: string,
    private readonly id: string,
    private readonly address: string,
    private readonly weight: number,
    private readonly token: string | undefined,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly onRemoved: () => void,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    try {
      const res = await request(this.memberUrl(), {
        method: 'DELETE',
        headers: this.headers(),
        signal: AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS),
      });
      await res.body.dump();
    } catch (err) {
      this.log.warn({ err }, 'deregistration failed; the lease will expire instead');
    }
  }

  private async beat(): Promise<void> {
    try {
      const res = await request(this.memberUrl(), {
        method: 'PUT',
        headers: { ...this.headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ address: this.address, weight: this.weight }),
        signal: AbortSignal.timeout(HEARTBEAT_TIMEOUT_MS),
      });
      const text = await res.body.text();
      if (res.statusCode === 410) {
        clearInterval(this.timer);
        this.log.info('removed from the fleet; shutting down');
        this.onRemoved();
        return;
      }
      if (res.statusCode !== 200) throw new Error(`registry answered ${res.statusCode}: ${text}`);
      if (this.failing) this.log.info('heartbeat recovered');
      this.failing = false;
    } catch (err) {
      // Log the first failure of a streak only; the registry may be restarting.
      if (!this.failing) this.log.warn({ err }, 'heartbeat failed');
      this.failing = true;
    }
  }

  private memberUrl(): string {
    return `${this.url.replace(/\/$/, '')}/${encodeURIComponent(this.id)}`;
  }

  private headers(): Record<string, string> {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }
}
