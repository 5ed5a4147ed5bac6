import { readdirSync, readFileSync } from 'node:fs';

/**
 * The PID of the server process `serverId` that the proxy `proxyPid` started
 * through its local scaler, found the way an operator would on Linux: the
 * proxy's children (/proc/<pid>/task/<tid>/children) whose environment says
 * SERVER_ID=<serverId>. Undefined where /proc does not tell (not Linux, or a
 * kernel without the children file); callers fall back to the admin API.
 */
export function serverPid(proxyPid: number, serverId: string): number | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${proxyPid}/task`);
  } catch {
    return undefined;
  }
  const wanted = `SERVER_ID=${serverId}`;
  for (const tid of tasks) {
    let children: string;
    try {
      children = readFileSync(`/proc/${proxyPid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const pid of children.split(' ').filter(Boolean).map(Number)) {
      try {
        if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(wanted)) return pid;
      } catch {
        // The child exited between the two reads.
      }
    }
  }
  return undefined;
}
