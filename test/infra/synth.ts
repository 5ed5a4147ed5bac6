import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { repoRoot } from '#devkit/repo-root.js';
import { type RingmasterConfig, readAppSettings } from '#infra/config.js';
import { createStacks, type RingmasterStacks } from '#infra/ringmaster-app.js';

export const root = repoRoot();
const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

/** cdk.json's shipped `ringmaster` settings, as a fresh mutable copy. */
export function shippedConfig(): RingmasterConfig & Record<string, unknown> {
  return structuredClone(cdkJson.context.ringmaster) as RingmasterConfig & Record<string, unknown>;
}

export interface Synthesized {
  readonly app: App;
  readonly stacks: RingmasterStacks;
  readonly config: RingmasterConfig;
  readonly data: Template;
  readonly service: Template;
  readonly monitoring: Template;
}

/**
 * The app exactly as `cdk synth` builds it (cdk.json's context, cdk-nag
 * included: synth throws on an unacknowledged finding), with the given
 * settings. Slow (bundling and cdk-nag): call once per file, in beforeAll.
 */
export function synthesize(options: { config?: unknown; emulator?: boolean } = {}): Synthesized {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'ringmaster-synth-')),
    context: {
      ...cdkJson.context,
      ...(options.config === undefined ? {} : { ringmaster: options.config }),
      ...(options.emulator ? { emulator: 'true' } : {}),
    },
  });
  const settings = readAppSettings(app.node);
  const stacks = createStacks(app, settings, root);
  app.synth();
  return {
    app,
    stacks,
    config: settings.config,
    data: Template.fromStack(stacks.data),
    service: Template.fromStack(stacks.service),
    monitoring: Template.fromStack(stacks.monitoring),
  };
}
