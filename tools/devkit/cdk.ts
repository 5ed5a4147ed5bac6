/**
 * Runs the pinned CDK CLI (node_modules/aws-cdk, 2.1148.1: it reads the
 * assembly aws-cdk-lib 2.276 writes) against an AWS endpoint, for
 * `npm run deploy:local` and the deploy test.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { emulatorEnv } from './emulator.js';

const run = promisify(execFile);
/** What `aws sts get-caller-identity` answers on MiniStack and LocalStack. */
export const EMULATOR_ACCOUNT = '000000000000';
const DEPLOY_TIMEOUT_MS = 10 * 60_000;

export interface EmulatorDeployment {
  readonly root: string;
  readonly endpoint: string;
  /**
   * The ringmaster settings to deploy, replacing cdk.json's (e.g. another envName).
   * @default - cdk.json's
   */
  readonly config?: unknown;
  /** Where the CLI writes the cloud assembly; separate directories let runs proceed side by side. */
  readonly outdir?: string;
}

/** Stack outputs by stack name, then output key. */
export type StackOutputs = Record<string, Record<string, string>>;

function cdkArgs(d: EmulatorDeployment): string[] {
  return [
    join(d.root, 'node_modules', 'aws-cdk', 'bin', 'cdk'),
    '-c',
    'emulator=true',
    ...(d.config === undefined ? [] : ['-c', `ringmaster=${JSON.stringify(d.config)}`]),
    ...(d.outdir === undefined ? [] : ['--output', d.outdir]),
  ];
}

async function cdk(d: EmulatorDeployment, args: readonly string[]): Promise<string> {
  const env = { ...process.env, ...emulatorEnv(d.endpoint), CDK_DISABLE_VERSION_CHECK: '1' };
  try {
    const { stdout } = await run(process.execPath, [...cdkArgs(d), ...args], {
      cwd: d.root,
      env,
      timeout: DEPLOY_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; stdout?: string };
    throw new Error(`cdk ${args.join(' ')} failed:\n${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}

/** `cdk bootstrap` then `cdk deploy --all` against the emulator; returns the stack outputs. */
export async function deployToEmulator(d: EmulatorDeployment, outputsFile: string): Promise<StackOutputs> {
  const region = emulatorEnv(d.endpoint).AWS_REGION;
  await cdk(d, ['bootstrap', `aws://${EMULATOR_ACCOUNT}/${region}`, '--ci', '--no-notices']);
  await cdk(d, [
    'deploy',
    '--all',
    '--require-approval',
    'never',
    '--ci',
    '--no-notices',
    '--concurrency',
    '1',
    '--outputs-file',
    outputsFile,
  ]);
  return JSON.parse(readFileSync(outputsFile, 'utf8')) as StackOutputs;
}

/** `cdk destroy --all --force` against the emulator. */
export async function destroyOnEmulator(d: EmulatorDeployment): Promise<void> {
  await cdk(d, ['destroy', '--all', '--force', '--ci', '--no-notices']);
}
