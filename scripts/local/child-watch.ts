import type { ChildProcess } from 'node:child_process';

/** One part of the local run that runs as a process of its own. */
export interface WatchedPart {
  /** What the user knows it as, e.g. "the AWS emulator (MiniStack)". */
  readonly name: string;
  readonly child: ChildProcess;
  /** What stops working, and what goes on, when it dies: the second half of the line printed. */
  readonly consequence: string;
}

/** How a process ended, in words: "exited with code 1" or "was killed by SIGKILL". */
export function howItEnded(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/**
 * Watches the processes `npm start` runs and, when one ends while the run is
 * not stopping, prints one line naming it and what stops working because of
 * it. Without this a dead emulator left the proxy routing while autoscaling
 * and the records API stopped silently.
 */
export class ChildWatch {
  private stopping = false;

  constructor(private readonly print: (line: string) => void) {}

  watch(part: WatchedPart): void {
    part.child.once('exit', (code, signal) => {
      if (this.stopping) return;
      this.print(`npm start: ${part.name} (pid ${part.child.pid}) ${howItEnded(code, signal)}: ${part.consequence}`);
    });
  }

  /** From now on the run is stopping: processes that end are expected to. */
  stop(): void {
    this.stopping = true;
  }
}

/**
 * The line for a server process the proxy saw die, from its log line
 * (local-process-scaler.ts's SERVER_DIED warning), or undefined for any other line.
 */
export function serverDiedLine(logLine: string, diedMessage: string): string | undefined {
  if (!logLine.includes(diedMessage)) return undefined;
  let entry: { msg?: unknown; server?: unknown; code?: unknown; signal?: unknown; respawnInMs?: unknown };
  try {
    entry = JSON.parse(logLine);
  } catch {
    return undefined;
  }
  if (entry.msg !== diedMessage || typeof entry.server !== 'string') return undefined;
  const ended = howItEnded(
    typeof entry.code === 'number' ? entry.code : null,
    typeof entry.signal === 'string' ? (entry.signal as NodeJS.Signals) : null,
  );
  const seconds = typeof entry.respawnInMs === 'number' ? ` in ${entry.respawnInMs / 1000} s` : '';
  return `npm start: server ${entry.server} ${ended}: the proxy starts it again${seconds}; until then its requests go to the other servers`;
}
