import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './processes.js';

/** What the parent asks of the fleet process (lease-fleet-process.ts); `seq` pairs a reply with its command. */
export type FleetCommand =
  | { seq: number; op: 'join' | 'lapse' | 'leave' | 'close'; ids: readonly string[] }
  | { seq: number; op: 'stats' | 'exit' };

export interface FleetReply {
  readonly seq: number;
  readonly result?: {
    addresses?: Record<string, string>;
    heartbeatErrors?: number;
    leaveErrors?: number;
    served?: Record<string, number>;
  };
  readonly error?: string;
}

/** A command the fleet process did not answer within this has hung (a join of 100 is a few hundred writes). */
const COMMAND_TIMEOUT_MS = 30_000;
/** How long the fleet process may take to exit after closing its listeners. */
const EXIT_GRACE_MS = 2000;
const STDERR_CHUNKS_KEPT = 20;

export interface LeaseFleetSettings {
  /** RING_TABLE, and the AWS endpoint and credentials. */
  readonly env: Record<string, string>;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
}

/**
 * Hundreds of stand-in servers (a loopback listener and a real Ring lease
 * each) in one child process. The child is bundled here with esbuild, as
 * the global setup bundles the real entry points, and driven over IPC.
 */
export class LeaseFleet {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: FleetReply) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.on('message', (reply: FleetReply) => {
      const waiter = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      waiter?.resolve(reply);
    });
    child.on('exit', (code, signal) => {
      for (const w of this.pending.values()) w.reject(new Error(`the fleet process exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  static async start(settings: LeaseFleetSettings): Promise<LeaseFleet> {
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-lease-fleet-'));
    const entry = join(dir, 'lease-fleet.mjs');
    await build({
      entryPoints: [join(ROOT, 'test/helpers/lease-fleet-process.ts')],
      outfile: entry,
      absWorkingDir: ROOT,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      logLevel: 'warning',
      // Bundled CommonJS dependencies call require(); give ESM output one (as scripts/build.mjs does).
      banner: {
        js: "import { createRequire as __rmCreateRequire } from 'node:module'; const require = __rmCreateRequire(import.meta.url);",
      },
    });
    const child = fork(entry, [], {
      env: {
        PATH: process.env.PATH ?? '',
        ...settings.env,
        HEARTBEAT_INTERVAL_MS: String(settings.heartbeatMs),
        LEASE_MS: String(settings.leaseMs),
      },
      // The SDK warns on stderr of every slow request, hundreds on a loaded emulator; keep the last few.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const stderr: string[] = [];
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr.push(chunk);
      if (stderr.length > STDERR_CHUNKS_KEPT) stderr.shift();
    });
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`lease fleet exited ${code}: ${stderr.join('')}\n`);
    });
    const fleet = new LeaseFleet(child, dir);
    // The child's first message (seq 0) says it is listening for commands.
    await new Promise<void>((resolve, reject) => {
      fleet.pending.set(0, { resolve: () => resolve(), reject });
    });
    return fleet;
  }

  /** Each server listens, then beats once (a failed first beat is retried on its next tick); resolves with their addresses. */
  async join(ids: readonly string[]): Promise<Record<string, string>> {
    return (await this.send({ op: 'join', ids })).addresses ?? {};
  }

  /** The servers stop heartbeating and keep serving: their leases lapse. */
  async lapse(ids: readonly string[]): Promise<void> {
    await this.send({ op: 'lapse', ids });
  }

  /** The servers delete their leases (a clean shutdown's first step) and keep serving. */
  async leave(ids: readonly string[]): Promise<void> {
    await this.send({ op: 'leave', ids });
  }

  /** The servers stop listening. */
  async close(ids: readonly string[]): Promise<void> {
    await this.send({ op: 'close', ids });
  }

  /** Failed heartbeats and lease deletions (a loaded emulator times some out), and requests served per server. */
  async stats(): Promise<{ heartbeatErrors: number; leaveErrors: number; served: Record<string, number> }> {
    const r = await this.send({ op: 'stats' });
    return { heartbeatErrors: r.heartbeatErrors ?? 0, leaveErrors: r.leaveErrors ?? 0, served: r.served ?? {} };
  }

  /** Closes every listener (leases are left to lapse) and ends the process. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    if (this.child.connected) await this.send({ op: 'exit' }).catch(() => {});
    // Its DynamoDB client may hold keep-alive sockets open a while; nothing else is left to wait for.
    const killTimer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_GRACE_MS);
    await exited;
    clearTimeout(killTimer);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private send(command: {
    op: FleetCommand['op'];
    ids?: readonly string[];
  }): Promise<NonNullable<FleetReply['result']>> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`the fleet process did not answer "${command.op}" within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(seq, {
        resolve: (reply) => {
          clearTimeout(timer);
          if (reply.error !== undefined) reject(new Error(`fleet "${command.op}": ${reply.error}`));
          else resolve(reply.result ?? {});
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.child.send({ ...command, seq } as FleetCommand);
    });
  }
}
