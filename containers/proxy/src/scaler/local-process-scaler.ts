import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { type Scaler, ScalerError } from '#core/ports/scaler.js';

/** How long a stopped server may take to drain and exit before SIGKILL. */
const STOP_GRACE_MS = 10_000;
/** Respawn back-off: 1 s doubling to 30 s, reset after a minute of uptime. */
const RESPAWN_BASE_MS = 1000;
const RESPAWN_MAX_MS = 30_000;
const STABLE_UPTIME_MS = 60_000;

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
 * ECS service) and respawns any that die unexpectedly, as the assignments'
 * load balancer did. Servers register themselves once listening.
 */
export class LocalProcessScaler implements Scaler {
  readonly kind = 'local';
  private readonly managed = new Map<string, Managed>();

  constructor(
    private readonly spec: LocalServerSpec,
    private readonly log: Logger,
  ) {}

  owns(id: string): boolean {
    return this.managed.has(id);
  }

  async add(ids: readonly string[]): Promise<void> {
    const clash = ids.filter((id) => this.managed.has(id));
    if (clash.length > 0) throw new ScalerError(`already running: ${clash.join(', ')}`, clash);
    for (const id of ids) this.managed.set(id, this.spawn(id, 0));
  }

  async remove(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.stop(id)));
  }

  async close(): Promise<void> {
    await this.remove([...this.managed.keys()]);
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
    this.log.warn({ server: id, code, signal, respawnInMs: delay }, 'server process died; respawning');
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
