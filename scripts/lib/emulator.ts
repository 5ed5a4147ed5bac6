/**
 * The AWS emulator for tests and the local run: MiniStack (PyPI, MIT), a
 * LocalStack-compatible emulator that needs no Docker. It is installed, at
 * the versions pinned in scripts/emulator-requirements.txt, into the
 * project's own .venv on first use, and started on a free loopback port.
 * When AWS_ENDPOINT_URL is set (a running LocalStack or MiniStack), that is
 * used instead and nothing is installed or started.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/** Creates .venv and installs the pinned MiniStack unless it is already there at that version. */
export function ensureMiniStack(root: string): string {
  const venv = join(root, '.venv');
  const bin = join(venv, 'bin', 'ministack');
  const requirements = join(root, 'scripts', 'emulator-requirements.txt');
  const pinned = /^ministack==(\S+)$/m.exec(readFileSync(requirements, 'utf8'))?.[1];
  const stamp = join(venv, 'ministack-version');
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === pinned) return bin;
  const python = process.env.PYTHON ?? 'python3';
  execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', '-r', requirements], {
    stdio: 'inherit',
  });
  execFileSync('sh', ['-c', `printf '%s' "${pinned}" > "${stamp}"`]);
  return bin;
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
  return { endpoint, owned: true, stop: async () => void (await stopProcess(proc.child)) };
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
