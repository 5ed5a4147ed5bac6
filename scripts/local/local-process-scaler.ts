import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { type Capacity, type Scaler, ScalerError } from '#core/ports/scaler.js';

/** How long a stopped server may take to drain and exit before SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** Respawn back-off: 1 s doubling to 30 s, reset after a minute of uptime. */
const RESPAWN_BASE_MS = 1000;
const RESPAWN_MAX_MS = 30_000;
const STABLE_UPTIME_MS = 60_000;

/** The warning logged when a server process dies unasked ({server, code, signal, respawnInMs}); npm start reports it. */
export const SERVER_DIED = 'server process died; respawning';

export interface LocalServerSpec {
  /** Path of the server bundle (dist/server.js). */
  readonly entry: string;
  readonly logLevel: string;
  /**
   * How servers register (REGISTRY_URL and its token file, or RING_TABLE and
   * the AWS settings) and any artificial work for benchmarks.
   */
  readonly env: Readonly<Record<string, string>>;
}

interface Managed {
  child: ChildProcess;
  stopping: boolean;
  startedAt: number;
  restarts: number;
  respawnTimer: NodeJS.Timeout | undefined;
}

/**
 * Runs backend servers as local Node processes (the local stand-in for the
 * ECS service) and respawns any that die unexpectedly, as the seed
 * balancers did. Servers register themselves once listening. It names its
 * servers, so /add's hostnames are honoured here.
 */
export class LocalProcessScaler implements Scaler {
  readonly kind = 'local';
  readonly namesServers = true;
  /** In start order, so scaling in by count stops the newest first. */
  private readonly managed = new Map<string, Managed>();

  constructor(
    private readonly spec: LocalServerSpec,
    private readonly log: Logger,
  ) {}

  /** A process counts as running from its spawn until it exits; one waiting to respawn is pending. */
  async describe(): Promise<Capacity> {
    let running = 0;
    for (const m of this.managed.values()) if (m.child.exitCode === null && m.child.signalCode === null) running++;
    return { desired: this.managed.size, running, pending: this.managed.size - running };
  }

  /** Process ids of the servers running now, by server id (for CPU accounting). */
  processIds(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const [id, m] of this.managed) {
      const { pid, exitCode, signalCode } = m.child;
      if (pid !== undefined && exitCode === null && signalCode === null) pids.set(id, pid);
    }
    return pids;
  }

  async setDesiredCount(count: number, newIds?: readonly string[]): Promise<void> {
    const current = this.managed.size;
    if (count < current) {
      await this.removeServers([...this.managed.keys()].slice(count));
      return;
    }
    const ids = newIds ?? this.freshIds(count - current);
    if (ids.length !== count - current) {
      throw new ScalerError(
        `growing from ${current} to ${count} needs ${count - current} id(s), got ${ids.length}`,
        ids,
      );
    }
    const clash = ids.filter((id) => this.managed.has(id));
    if (clash.length > 0) throw new ScalerError(`already running: ${clash.join(', ')}`, clash);
    for (const id of ids) this.managed.set(id, this.spawn(id, 0));
  }

  async removeServers(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.stop(id)));
  }

  async close(): Promise<void> {
    await this.removeServers([...this.managed.keys()]);
  }

  /** local-1, local-2, … skipping ids already running (used when a caller sets a count without naming). */
  private freshIds(n: number): string[] {
    const ids: string[] = [];
    for (let k = 1; ids.length < n; k++) if (!this.managed.has(`local-${k}`)) ids.push(`local-${k}`);
    return ids;
  }

  private spawn(id: string, restarts: number): Managed {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      SERVER_ID: id,
      SERVER_HOST: '127.0.0.1',
      SERVER_PORT: '0',
      LOG_LEVEL: this.spec.logLevel,
      ...this.spec.env,
    };
    const child = spawn(process.execPath, [this.spec.entry], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    const managed: Managed = { child, stopping: false, startedAt: Date.now(), restarts, respawnTimer: undefined };
    child.on('exit', (code, signal) => this.onExit(id, managed, code, signal));
    child.on('error', (err) => this.log.error({ server: id, err }, 'server process failed to start'));
    this.log.info({ server: id, pid: child.pid }, 'server process started');
    return managed;
  }

  private onExit(id: string, managed: Managed, code: number | null, signal: NodeJS.Signals | null): void {
    if (managed.stopping || this.managed.get(id) !== managed) return;
    const stable = Date.now() - managed.startedAt > STABLE_UPTIME_MS;
    const restarts = stable ? 0 : managed.restarts + 1;
    const delay = Math.min(RESPAWN_BASE_MS * 2 ** Math.max(0, restarts - 1), RESPAWN_MAX_MS);
    this.log.warn({ server: id, code, signal, respawnInMs: delay }, SERVER_DIED);
    managed.respawnTimer = setTimeout(() => {
      if (this.managed.get(id) === managed) this.managed.set(id, this.spawn(id, restarts));
    }, delay);
    managed.respawnTimer.unref();
  }

  private async stop(id: string): Promise<void> {
    const managed = this.managed.get(id);
    if (!managed) return;
    this.managed.delete(id);
    managed.stopping = true;
    clearTimeout(managed.respawnTimer);
    const { child } = managed;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    this.log.info({ server: id }, 'server process stopped');
  }
}
