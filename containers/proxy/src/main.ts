import { ConfigError } from '#core/config/env.js';
import { startProxy } from './app.js';
import { loadProxyConfig } from './config.js';
import { createLogger } from './logger.js';
import { LocalProcessScaler } from './scaler/local-process-scaler.js';

/** Entry point of the proxy container: `node dist/proxy.js`. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadProxyConfig>;
  try {
    config = loadProxyConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ringmaster proxy: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.LOG_LEVEL, 'ringmaster-proxy');
  if (!config.adminToken) log.warn('RINGMASTER_LOCAL_DEV=1: the admin API accepts requests without a token');
  const proxy = await startProxy(config, log, {
    createScaler: (adminPort) =>
      config.SCALER === 'local'
        ? new LocalProcessScaler(
            {
              entry: config.LOCAL_SERVER_ENTRY,
              registryUrl: `http://127.0.0.1:${adminPort}/members`,
              tokenFile: process.env.ADMIN_TOKEN_FILE,
              logLevel: config.LOG_LEVEL,
              extraEnv: pickServerWorkEnv(process.env),
            },
            log,
          )
        : undefined,
  });
  // Machine-readable line for scripts and tests that start the proxy on port 0.
  process.stdout.write(
    `${JSON.stringify({ ringmaster: 'ready', proxyPort: proxy.proxyPort, adminPort: proxy.adminPort })}\n`,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      proxy.shutdown().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

/** Artificial-work settings the local scaler hands on to the servers it starts. */
function pickServerWorkEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['SERVER_WORK_LATENCY_MS', 'SERVER_WORK_CPU_MS']) {
    const value = env[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(
    `ringmaster proxy failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
