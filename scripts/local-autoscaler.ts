/**
 * The autoscaler Lambda's own handler, invoked on its schedule by `npm start`
 * against the emulator, as EventBridge invokes it on AWS (and as MiniStack's
 * local executor would, in a process of its own). The handler reads the same
 * environment the CDK app gives the function; this runner only adds the
 * schedule: one invocation every RINGMASTER_TICK_MS, never two at once.
 * Its Powertools log lines go to stdout, where `npm start` reads them.
 */
import { z } from 'zod';
import { intVar, parseEnv } from '#core/config/env.js';

const { RINGMASTER_TICK_MS: tickMs } = parseEnv(
  z.object({ RINGMASTER_TICK_MS: intVar(60_000, 1000, 60 * 60_000) }),
  process.env,
  'local autoscaler',
);
let stopping = false;
let wake: (() => void) | undefined;
const stop = () => {
  stopping = true;
  wake?.();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// Imported after the notice is quieted: the handler builds its AWS clients when it loads.
const { handler } = await import('#functions/autoscaler/handler.js');

while (!stopping) {
  // The first invocation comes one interval after start, as a new EventBridge rule's does.
  await new Promise<void>((resolve) => {
    wake = resolve;
    setTimeout(resolve, tickMs);
  });
  if (stopping) break;
  try {
    await handler();
  } catch (err) {
    // The handler logs and counts its own failures; this is what escaped it (a Lambda would record an error).
    process.stderr.write(`autoscaler invocation failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
process.exit(0);
