import type { Logger } from 'pino';
import { composeProxy, type ProxyExtras } from './compose.js';
import type { ProxyConfig } from './config.js';
import { type RunningProxy, startParts } from './lifecycle.js';

export type { ProxyExtras } from './compose.js';
export type { RunningProxy } from './lifecycle.js';

/**
 * Builds the proxy's parts from its configuration (compose.ts) and starts
 * them in order (lifecycle.ts). `extras` is how a local run injects its
 * scaler; tests and main.ts call this.
 */
export async function startProxy(config: ProxyConfig, log: Logger, extras: ProxyExtras = {}): Promise<RunningProxy> {
  return startParts(composeProxy(config, log, extras), log);
}
