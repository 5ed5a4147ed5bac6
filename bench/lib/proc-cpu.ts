import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU a process tree has used so far, from /proc (Linux): user and system
 * time of `pid` and every descendant (nginx's worker is a child of its
 * master). Undefined where /proc does not tell, so callers report null.
 */
export interface CpuTime {
  readonly userUs: number;
  readonly sysUs: number;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on every mainstream build. */
const TICKS_PER_SECOND = 100;
const US_PER_TICK = 1_000_000 / TICKS_PER_SECOND;

function ownTicks(pid: number): [number, number] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [Number(fields[11]), Number(fields[12])]; // utime, stime (fields 14 and 15 overall)
  } catch {
    return undefined;
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const c of text.split(' ')) if (c) out.push(Number(c));
    }
  } catch {
    // Gone, or no children file: count what we have.
  }
  return out;
}

export function treeCpuTime(pid: number): CpuTime | undefined {
  const own = ownTicks(pid);
  if (own === undefined) return undefined;
  let [user, sys] = own;
  const pending = children(pid);
  for (let guard = 0; pending.length > 0 && guard < 1000; guard++) {
    const child = pending.pop() as number;
    const t = ownTicks(child);
    if (t) {
      user += t[0];
      sys += t[1];
    }
    pending.push(...children(child));
  }
  return { userUs: user * US_PER_TICK, sysUs: sys * US_PER_TICK };
}
