import { randomBytes } from 'node:crypto';
import { type ProxyReady, parseProxyReady, parseServerReady, type ServerReady } from '#core/runtime/ready-line.js';
import { repoRoot } from '#devkit/repo-root.js';
import { type Started, spawnUntil } from '#devkit/spawn.js';

/** The repository root, whether the benchmark runs bundled (dist/bench/) or from source. */
export const ROOT = repoRoot();

const baseEnv = (extra: Record<string, string>) => ({ PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...extra });

/** A backend server bundle on a free loopback port; resolves with its process and address. */
export async function startServer(
  id: string,
  env: Record<string, string> = {},
): Promise<{ proc: Started; address: string }> {
  const proc = await spawnUntil(
    process.execPath,
    ['dist/server.js'],
    { cwd: ROOT, env: baseEnv({ SERVER_ID: id, SERVER_HOST: '127.0.0.1', SERVER_PORT: '0', ...env }) },
    (l) => parseServerReady(l) !== undefined,
  );
  return { proc, address: (parseServerReady(proc.readyLine) as ServerReady).address };
}

/**
 * A Ringmaster proxy bundle on free loopback ports, with a fresh admin token: the production one,
 * or the development one (scripts/local/dev-proxy.ts) when `env` asks for local server processes.
 */
export async function startProxy(
  env: Record<string, string>,
): Promise<{ proc: Started; url: string; adminUrl: string; token: string }> {
  const token = randomBytes(24).toString('hex');
  const proc = await spawnUntil(
    process.execPath,
    [env.SCALER === 'local' || env.SCALER === 'local-ecs' ? 'dist/dev-proxy.js' : 'dist/proxy.js'],
    {
      cwd: ROOT,
      env: baseEnv({
        PROXY_HOST: '127.0.0.1',
        PROXY_PORT: '0',
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: '0',
        ADMIN_TOKEN: token,
        ...env,
      }),
    },
    (l) => parseProxyReady(l) !== undefined,
  );
  const { proxyPort, adminPort } = parseProxyReady(proc.readyLine) as ProxyReady;
  return { proc, url: `http://127.0.0.1:${proxyPort}`, adminUrl: `http://127.0.0.1:${adminPort}`, token };
}
