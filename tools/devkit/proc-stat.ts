import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on every mainstream build. */
export const PROC_TICKS_PER_SECOND = 100;

/** utime and stime: fields 14 and 15 of /proc/<pid>/stat, counted after the ")" that ends the command name. */
const UTIME_AFTER_COMM = 11;
const STIME_AFTER_COMM = 12;

/**
 * User and system CPU of one process so far, in ticks of 1/100 s, from
 * /proc (Linux). Undefined where /proc does not tell (another OS, or the
 * process is gone), so callers leave the figure out rather than guess.
 */
export function processCpuTicks(pid: number): readonly [user: number, system: number] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name is parenthesised and may itself hold spaces or ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[UTIME_AFTER_COMM]);
    const system = Number(fields[STIME_AFTER_COMM]);
    return Number.isFinite(user) && Number.isFinite(system) ? [user, system] : undefined;
  } catch {
    return undefined;
  }
}
