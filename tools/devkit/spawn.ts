import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const READY_TIMEOUT_MS = 15_000;

/**
 * Every process started here, so a failed run still stops them. Each runs in
 * its own process group, and the whole group is killed: a program that
 * started programs of its own (npm start's proxy and servers) leaves none
 * behind.
 */
const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
});

export interface Started {
  readonly child: ChildProcess;
  /** Lines the process printed on stdout. */
  readonly lines: string[];
  readonly stderr: string[];
  readonly readyLine: string;
}

/** Spawns `command args` and resolves once a stdout line satisfies `ready`. */
export async function spawnUntil(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
  ready: (line: string) => boolean,
  timeoutMs = READY_TIMEOUT_MS,
): Promise<Started> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.add(child);
  child.on('exit', () => started.delete(child));
  const lines: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => stderr.push(l));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in ${timeoutMs} ms: ${stderr.join('\n')}`)), timeoutMs);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line);
      if (ready(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready: ${stderr.join('\n')}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return { child, lines, stderr, readyLine };
}

/** Spawns a program that prints nothing when ready (callers wait for its port); stopped like the rest. */
export function spawnQuiet(command: string, args: readonly string[], env?: Record<string, string>): Started {
  // Same process group as the caller: when the caller's group is killed, this goes too.
  const child = spawn(command, args, {
    stdio: 'ignore',
    env: env ? { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } : process.env,
  });
  started.add(child);
  child.on('exit', () => started.delete(child));
  return { child, lines: [], stderr: [], readyLine: '' };
}

/** SIGTERM, then wait for exit; resolves with the exit code. */
export async function stopProcess(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}
