import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { type ProxyReady, parseProxyReady, parseServerReady, type ServerReady } from '#core/runtime/ready-line.js';
import { repoRoot } from '#devkit/repo-root.js';
import { type Started, spawnUntil as spawnProcess, stopProcess } from '#devkit/spawn.js';

export { stopProcess };

export const ROOT = repoRoot();
export const PROXY_BUNDLE = join(ROOT, 'dist/proxy.js');
/** The proxy with local server processes (scripts/local/dev-proxy.ts): what SCALER=local and local-ecs need. */
export const DEV_PROXY_BUNDLE = join(ROOT, 'dist/dev-proxy.js');
export const SERVER_BUNDLE = join(ROOT, 'dist/server.js');

/** Spawns `node <args>` from the repository root with only PATH and `env`. */
export function spawnUntil(args: readonly string[], env: Record<string, string>, ready: (line: string) => boolean) {
  return spawnProcess(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } }, ready);
}

export interface TestProxy extends Started {
  readonly url: string;
  readonly adminUrl: string;
  readonly token: string;
  readonly tokenFile: string;
  /** Admin API call with the bearer token; returns status and parsed JSON (or text). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON the admin API returns
  admin(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any }>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * The proxy on free loopback ports with a fresh token: the production bundle, or the development
 * one when `env` asks for local server processes (SCALER=local or local-ecs).
 */
export async function startTestProxy(env: Record<string, string> = {}): Promise<TestProxy> {
  const local = env.SCALER === 'local' || env.SCALER === 'local-ecs';
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'ringmaster-test-')), 'token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const proc = await spawnUntil(
    [local ? DEV_PROXY_BUNDLE : PROXY_BUNDLE],
    {
      PROXY_HOST: '127.0.0.1',
      PROXY_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      ADMIN_TOKEN_FILE: tokenFile,
      LOG_LEVEL: 'warn',
      ...(local ? { LOCAL_SERVER_ENTRY: SERVER_BUNDLE } : {}),
      // Run any end-to-end file against the other data plane: RINGMASTER_TEST_DATA_PLANE=net npx vitest run …
      ...(process.env.RINGMASTER_TEST_DATA_PLANE ? { DATA_PLANE: process.env.RINGMASTER_TEST_DATA_PLANE } : {}),
      // …and against the other upstream client: RINGMASTER_TEST_UPSTREAM_CLIENT=undici npx vitest run …
      ...(process.env.RINGMASTER_TEST_UPSTREAM_CLIENT
        ? { UPSTREAM_CLIENT: process.env.RINGMASTER_TEST_UPSTREAM_CLIENT }
        : {}),
      ...env,
    },
    (line) => parseProxyReady(line) !== undefined,
  );
  const ready = parseProxyReady(proc.readyLine) as ProxyReady;
  const adminUrl = `http://127.0.0.1:${ready.adminPort}`;
  return {
    ...proc,
    url: `http://127.0.0.1:${ready.proxyPort}`,
    adminUrl,
    token,
    tokenFile,
    async admin(method, path, body, overrideToken) {
      const auth = overrideToken === null ? undefined : (overrideToken ?? token);
      const res = await request(`${adminUrl}${path}`, {
        method: method as 'GET',
        headers: {
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // /metrics is text
      }
      return { status: res.statusCode, body: parsed };
    },
    stop: () => stopProcess(proc.child),
  };
}

export interface TestServer extends Started {
  readonly id: string;
  readonly address: string;
  stop(): Promise<number | null>;
  kill(): void;
}

/** A backend server registering with `proxy` (unless `register` is false). */
export async function startTestServer(
  id: string,
  proxy: TestProxy | undefined,
  env: Record<string, string> = {},
): Promise<TestServer> {
  const proc = await spawnUntil(
    [SERVER_BUNDLE],
    {
      SERVER_ID: id,
      SERVER_HOST: '127.0.0.1',
      SERVER_PORT: '0',
      LOG_LEVEL: 'warn',
      ...(proxy ? { REGISTRY_URL: `${proxy.adminUrl}/members`, REGISTRY_TOKEN_FILE: proxy.tokenFile } : {}),
      ...env,
    },
    (line) => parseServerReady(line) !== undefined,
  );
  const ready = parseServerReady(proc.readyLine) as ServerReady;
  return {
    ...proc,
    id,
    address: ready.address,
    stop: () => stopProcess(proc.child),
    kill: () => proc.child.kill('SIGKILL'),
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; resolves with the time it took. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await check()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
