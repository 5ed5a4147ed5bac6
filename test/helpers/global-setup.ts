import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { type Emulator, useEmulator } from '#devkit/emulator.js';
import { repoRoot } from '#devkit/repo-root.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The AWS endpoint every test uses: AWS_ENDPOINT_URL, or the MiniStack started here. */
    awsEndpoint: string;
  }
}

let emulator: Emulator | undefined;

/**
 * Builds the bundles (the end-to-end tests run them as the containers do)
 * and provides an AWS emulator: the one AWS_ENDPOINT_URL names, else a
 * MiniStack installed into .venv and started on a free loopback port.
 */
export async function setup(project: TestProject): Promise<void> {
  const root = repoRoot();
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit', cwd: root });
  emulator = await useEmulator(root);
  project.provide('awsEndpoint', emulator.endpoint);
}

export async function teardown(): Promise<void> {
  await emulator?.stop();
}
