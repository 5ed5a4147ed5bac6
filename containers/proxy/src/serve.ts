import type { Logger } from 'pino';
import { loadOrExit } from '#core/config/load-or-exit.js';
import { readyLine } from '#core/runtime/ready-line.js';
import { type ProxyExtras, type RunningProxy, startProxy } from './app.js';
import { loadProxyConfig, type ProxyConfig } from './config.js';
import { createLogger } from './telemetry/logger.js';

/** What an entry point adds to the proxy it runs: the scaler hook, and work to finish before it reports ready. */
export interface ProxyProcessParts extends ProxyExtras {
  /** Runs once the proxy listens, before the ready line (the development entry point starts its servers here). */
  readonly beforeReady?: (proxy: RunningProxy) => Promise<void>;
}

/**
 * Runs the proxy as this process: its configuration from the environment
 * (exit 2 naming every bad setting), the proxy, SIGTERM/SIGINT as a graceful
 * stop, and the ready line. The container's entry point (main.ts) and the
 * development one (scripts/local/dev-proxy.ts) differ only in `parts`.
 */
export async function serveProxy(
  env: Record<string, string | undefined>,
  parts: (config: ProxyConfig, log: Logger) => ProxyProcessParts,
): Promise<void> {
  const config = loadOrExit('ringmaster proxy', () => loadProxyConfig(env));
  const log = createLogger(config.LOG_LEVEL, 'ringmaster-proxy');
  if (!config.adminToken) log.warn('RINGMASTER_LOCAL_DEV=1: the admin API accepts requests without a token');
  const { beforeReady, ...extras } = parts(config, log);
  const proxy = await startProxy(config, log, extras);
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
  await beforeReady?.(proxy);
  // Machine-readable line for scripts and tests that start the proxy on port 0. Printed only
  // once the signal handlers exist: a SIGTERM sent on seeing it must not meet the default action.
  process.stdout.write(readyLine({ ringmaster: 'ready', proxyPort: proxy.proxyPort, adminPort: proxy.adminPort }));
}

/** Exits with the reason when the proxy could not start (a bad setting has already exited with 2). */
export function exitOnStartFailure(err: unknown): never {
  process.stderr.write(
    `ringmaster proxy failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
