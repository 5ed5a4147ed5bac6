import type { Logger } from 'pino';
import { readLimited } from '#core/http/read-body.js';
import type { Fleet } from './fleet.js';
import type { UpstreamBackend } from './upstream-backend.js';

export interface HealthCheckOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly path: string;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
}

/** Largest heartbeat body read; a server sending more is unhealthy. */
const MAX_HEARTBEAT_BYTES = 16 * 1024;

/**
 * Active health checks: GET /heartbeat on every backend each interval. A
 * check is healthy on a 2xx within the timeout; its JSON body, when present,
 * updates the server's reported cpu and memory for the drf strategy.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<string>();

  constructor(
    private readonly fleet: Fleet,
    private readonly options: HealthCheckOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runs one round now; resolves when every check of the round has finished. */
  async tick(): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const b of this.fleet.list()) {
      if (this.pending.has(b.id)) continue;
      this.pending.add(b.id);
      checks.push(this.check(b).finally(() => this.pending.delete(b.id)));
    }
    await Promise.all(checks);
  }

  private async check(b: UpstreamBackend): Promise<void> {
    let ok = false;
    try {
      const { statusCode, body } = await b.pool.request({
        path: this.options.path,
        method: 'GET',
        signal: AbortSignal.timeout(this.options.timeoutMs),
        headers: { 'user-agent': 'ringmaster-health' },
      });
      const text = (await readLimited(body, MAX_HEARTBEAT_BYTES, { destroyOnOverflow: true })).toString('utf8');
      ok = statusCode >= 200 && statusCode < 300;
      if (ok) applyLoadReport(b, text);
    } catch (err) {
      if (this.fleet.get(b.id) === b) this.log.debug({ server: b.id, err }, 'health check failed');
    }
    // A backend replaced or removed meanwhile is not judged on a stale check.
    if (this.fleet.get(b.id) === b) {
      this.fleet.reportHealth(b, ok, this.options.unhealthyThreshold, this.options.healthyThreshold);
    }
  }
}

/** Takes cpu and memory (fractions 0..1) from a heartbeat body; ignores anything malformed. */
export function applyLoadReport(b: UpstreamBackend, text: string): void {
  if (!text) return;
  try {
    const report = JSON.parse(text) as { load?: { cpu?: unknown; memory?: unknown } };
    const cpu = report.load?.cpu;
    const memory = report.load?.memory;
    if (typeof cpu === 'number' && cpu >= 0 && cpu <= 1) b.cpu = cpu;
    if (typeof memory === 'number' && memory >= 0 && memory <= 1) b.memory = memory;
  } catch {
    // Not JSON: a plain 200 still counts as healthy; there is just no load report.
  }
}
