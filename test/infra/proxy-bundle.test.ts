import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './synth.js';

/** The part of esbuild's metafile this check reads (scripts/build.mjs writes dist/metafile.json). */
interface Metafile {
  readonly inputs: Record<string, { readonly imports: readonly { readonly path: string }[] }>;
  readonly outputs: Record<string, { readonly inputs: Record<string, unknown> }>;
}

/** Node's modules that start processes (worker_threads starts threads, which pino and undici use). */
const PROCESS_MODULES = new Set(['node:child_process', 'child_process', 'node:cluster', 'cluster']);
/** A string literal that begins a /proc path: reading per-process state, which only a dev machine's processes need. */
const PROC_PATH = /[`'"]\/proc\//;

const metafile = (): Metafile => JSON.parse(readFileSync(join(root, 'dist/metafile.json'), 'utf8')) as Metafile;

/** The bundle's inputs that are Ringmaster's own source (not a dependency's). */
function ownInputs(meta: Metafile, bundle: string): string[] {
  const output = meta.outputs[bundle];
  if (!output) throw new Error(`${bundle} is not in dist/metafile.json: run npm run build`);
  return Object.keys(output.inputs).filter((input) => !input.startsWith('node_modules/'));
}

/**
 * Ringmaster source files in `bundle` that start processes or read /proc, each with the reason.
 * Judged by the importing file: the AWS SDK's process credential provider legitimately
 * bundles node:child_process, and is no Ringmaster code.
 */
function offenders(meta: Metafile, bundle: string): string[] {
  const found: string[] = [];
  for (const input of ownInputs(meta, bundle)) {
    for (const { path } of meta.inputs[input]?.imports ?? []) {
      if (PROCESS_MODULES.has(path)) found.push(`${input} imports ${path}`);
    }
    if (PROC_PATH.test(readFileSync(join(root, input), 'utf8'))) found.push(`${input} reads /proc`);
  }
  return found.sort();
}

describe('the production proxy bundle holds only the product', () => {
  it('no Ringmaster source in dist/proxy.js (the image runs it) starts processes or reads /proc', () => {
    const meta = metafile();
    expect(ownInputs(meta, 'dist/proxy.js')).toContain('containers/proxy/src/main.ts');
    expect(offenders(meta, 'dist/proxy.js')).toEqual([]);
    // node:child_process is in the bundle, from a dependency only: the reason the check goes by importer.
    const importers = Object.keys(meta.outputs['dist/proxy.js']?.inputs ?? {}).filter((input) =>
      meta.inputs[input]?.imports.some(({ path }) => PROCESS_MODULES.has(path)),
    );
    expect(importers).toEqual(['node_modules/@aws-sdk/credential-provider-process/dist-cjs/index.js']);
  });

  it('names the offenders in the development bundle, dist/dev-proxy.js (the check can fail)', () => {
    expect(offenders(metafile(), 'dist/dev-proxy.js')).toEqual([
      'scripts/local/local-process-scaler.ts imports node:child_process',
      'tools/devkit/proc-stat.ts reads /proc',
    ]);
  });
});
