import { resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** The Lambdas' inputs as esbuild bundles them (the same bundling as infra/constructs/node-lambda.ts, in memory). */
async function bundledInputs(entry: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs);
}

describe('the autoscaler Lambdas carry the policy, not its simulator', () => {
  it.each(['functions/autoscaler/handler.ts', 'functions/autoscaler/failsafe-handler.ts'])(
    '%s bundles nothing from functions/autoscaler/sim/ or bench/',
    async (entry) => {
      const inputs = await bundledInputs(entry);
      // The check can fail: the handler's own policy is in the bundle.
      if (entry.endsWith('/handler.ts')) expect(inputs).toContain('functions/autoscaler/policy.ts');
      expect(
        inputs.filter((file) => file.startsWith('functions/autoscaler/sim/') || file.startsWith('bench/')),
      ).toEqual([]);
    },
    30_000,
  );
});
