import { readdirSync, readFileSync } from 'node:fs';
import { PROC_TICKS_PER_SECOND, processCpuTicks } from '#devkit/proc-stat.js';

/**
 * CPU a process tree has used so far, from /proc (Linux): user and system
 * time of `pid` and every descendant (nginx's worker is a child of its
 * master). Undefined where /proc does not tell, so callers report null.
 */
export interface CpuTime {
  readonly userUs: number;
  readonly sysUs: number;
}

const US_PER_TICK = 1_000_000 / PROC_TICKS_PER_SECOND;

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
  const own = processCpuTicks(pid);
  if (own === undefined) return undefined;
  let [user, sys] = own;
  const pending = children(pid);
  for (let guard = 0; pending.length > 0 && guard < 1000; guard++) {
    const child = pending.pop() as number;
    const t = processCpuTicks(child);
    if (t) {
      user += t[0];
      sys += t[1];
    }
    pending.push(...children(child));
  }
  return { userUs: user * US_PER_TICK, sysUs: sys * US_PER_TICK };
}
