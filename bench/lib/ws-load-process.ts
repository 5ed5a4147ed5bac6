import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './processes.js';
import type { WsLoadReady, WsLoadResult } from './ws-load.js';

/** Past the run's own seconds, how long the generator gets to open, finish and report before it is killed. */
const EXTRA_TIME_MS = 30_000;

/** The generator could not run against a target: the reason names what came back. */
export class WsLoadError extends Error {
  override readonly name = 'WsLoadError';
}

export interface WsLoadOptions {
  readonly url: string;
  readonly connections: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Called once every connection is open, right before the measured window starts (a CPU snapshot). */
  readonly onStart?: () => void;
  /** Called when the result arrives, right after the measured window ends. */
  readonly onEnd?: () => void;
}

/**
 * Runs `dist/bench/ws-load.js` (bench/lib/ws-load.ts) in its own process
 * against `url` and resolves with its result: the generator's CPU is never
 * part of the measured proxy's process tree. Bounded: killed after the run's
 * seconds plus EXTRA_TIME_MS whatever happens.
 */
export function runWsLoad(options: WsLoadOptions): Promise<WsLoadResult> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'dist/bench/ws-load.js'),
      '--url',
      options.url,
      '--connections',
      String(options.connections),
      '--bytes',
      String(options.bytes),
      '--seconds',
      String(options.seconds),
    ],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l));
  return new Promise<WsLoadResult>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(killer);
      fn();
    };
    const killer = setTimeout(
      () => {
        child.kill('SIGKILL');
        settle(() => reject(new WsLoadError(`the load generator overran ${options.seconds} s + ${EXTRA_TIME_MS} ms`)));
      },
      options.seconds * 1000 + EXTRA_TIME_MS,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      let parsed: WsLoadReady | WsLoadResult;
      try {
        parsed = JSON.parse(line) as WsLoadReady | WsLoadResult;
      } catch {
        return;
      }
      if ('ready' in parsed) {
        if (!parsed.ready) {
          settle(() => reject(new WsLoadError(parsed.error)));
          return;
        }
        options.onStart?.();
        child.stdin.end('go\n');
      } else {
        options.onEnd?.();
        settle(() => resolve(parsed));
      }
    });
    child.once('exit', (code) => {
      settle(() => reject(new WsLoadError(`the load generator exited ${code}: ${stderr.join('\n').slice(0, 500)}`)));
    });
    child.once('error', (err) => settle(() => reject(new WsLoadError('the load generator failed', { cause: err }))));
  });
}
