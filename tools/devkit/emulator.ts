/**
 * The AWS emulator for tests and the local run: MiniStack (PyPI, MIT), a
 * LocalStack-compatible emulator that needs no Docker. It is installed, at
 * the versions pinned in scripts/emulator-requirements.txt, into the
 * project's own .venv on first use, and started on a free loopback port.
 * cfn-lint, which `npm test` runs over the synthesized templates, comes from
 * the same file into the same .venv.
 * When AWS_ENDPOINT_URL is set (a running LocalStack or MiniStack), that is
 * used instead and nothing is installed or started.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { freePort } from './net.js';
import { spawnQuiet, stopProcess } from './spawn.js';

const HEALTH_TIMEOUT_MS = 30_000;
const HEALTH_POLL_MS = 100;

export interface Emulator {
  /** e.g. http://127.0.0.1:45123 */
  readonly endpoint: string;
  /** True when this process started it (and so must stop it). */
  readonly owned: boolean;
  /** The MiniStack process, when this process started it (npm start watches it). */
  readonly process?: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Environment that points the AWS SDK at an emulator; credentials are the
 * emulator's dummies.
 */
export function emulatorEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
  };
}

/** A DynamoDB client for an emulator, for the scripts and tests that set it up (runtime code uses the SDK's environment lookup). */
export function emulatorClient(endpoint: string): DynamoDBClient {
  const env = emulatorEnv(endpoint);
  return new DynamoDBClient({
    endpoint,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID as string, secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string },
  });
}

/**
 * Creates .venv and installs scripts/emulator-requirements.txt (MiniStack and
 * cfn-lint, pinned) unless it is already installed from this very file: a
 * stamp holds the file's SHA-256, so a clone whose .venv predates a change to
 * it (cfn-lint was added later) installs again. The older `ministack-version`
 * stamp is still written, for checkouts that read only that one.
 */
function ensureVenv(root: string): string {
  const venv = join(root, '.venv');
  const requirementsPath = join(root, 'scripts', 'emulator-requirements.txt');
  const requirements = readFileSync(requirementsPath, 'utf8');
  const pinned = /^ministack==(\S+)$/m.exec(requirements)?.[1];
  if (pinned === undefined) throw new Error(`${requirementsPath}: no ministack==<version> line`);
  const digest = createHash('sha256').update(requirements).digest('hex');
  const stamp = join(venv, 'requirements-sha256');
  const installed = ['ministack', 'cfn-lint'].every((name) => existsSync(join(venv, 'bin', name)));
  if (installed && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest) return venv;
  const python = process.env.PYTHON ?? 'python3';
  // An existing venv is installed into as it is (it may be a symlink, which `venv` refuses to recreate).
  if (!existsSync(join(venv, 'bin', 'pip'))) execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(
    join(venv, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', '-r', requirementsPath],
    {
      stdio: 'inherit',
    },
  );
  writeFileSync(join(venv, 'ministack-version'), pinned);
  writeFileSync(stamp, digest);
  return venv;
}

/** The pinned MiniStack's executable, installed into .venv first if needed. */
export function ensureMiniStack(root: string): string {
  return join(ensureVenv(root), 'bin', 'ministack');
}

/** The pinned cfn-lint (AWS's CloudFormation linter), installed into .venv first if needed. */
export function ensureCfnLint(root: string): string {
  return join(ensureVenv(root), 'bin', 'cfn-lint');
}

/** Starts MiniStack on 127.0.0.1:<port> (a free one by default) and waits for its health endpoint. */
export async function startMiniStack(root: string, port?: number): Promise<Emulator> {
  const bin = ensureMiniStack(root);
  const chosen = port ?? (await freePort());
  const proc = spawnQuiet(bin, [], {
    GATEWAY_PORT: String(chosen),
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: 'WARNING',
  });
  const endpoint = `http://127.0.0.1:${chosen}`;
  await waitHealthy(endpoint, () => proc.child.exitCode !== null);
  return { endpoint, owned: true, process: proc.child, stop: async () => void (await stopProcess(proc.child)) };
}

/** The configured emulator (AWS_ENDPOINT_URL) or a fresh MiniStack. */
export async function useEmulator(root: string): Promise<Emulator> {
  const configured = process.env.AWS_ENDPOINT_URL;
  if (configured) {
    await waitHealthy(configured, () => false);
    return { endpoint: configured, owned: false, stop: async () => {} };
  }
  return startMiniStack(root);
}

async function waitHealthy(endpoint: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`the emulator at ${endpoint} exited during start-up`);
    for (const path of ['/_ministack/health', '/_localstack/health']) {
      try {
        const res = await fetch(`${endpoint}${path}`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch (err) {
        lastError = err;
      }
    }
    await new Promise((r) => setTimeout(r, HEALTH_POLL_MS));
  }
  throw new Error(`the emulator at ${endpoint} was not healthy within ${HEALTH_TIMEOUT_MS} ms`, { cause: lastError });
}
