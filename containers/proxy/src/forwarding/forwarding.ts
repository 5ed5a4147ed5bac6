import type { Logger } from 'pino';
import type { KeySource } from '#core/routing/key-source.js';
import type { Fleet } from '../fleet/fleet.js';
import type { ProxyMetrics } from '../telemetry/metrics.js';
import type { RequestIds } from './request-ids.js';
import type { RetryBudget } from './retry-budget.js';
import type { Tunnels } from './tunnel/tunnels.js';

/** How requests are read and forwarded; fixed for the proxy's life. */
export interface ForwardingSettings {
  readonly keySource: KeySource;
  /** Lower-case header the key is read from: the named one for `header:`, `cookie` for `cookie:`, '' otherwise. */
  readonly keyHeaderName: string;
  readonly demandHeaderName: string;
  readonly maxBodyBytes: number;
  /** More request header fields than this get 431 (their total size is the parser's limit). */
  readonly maxHeaderCount: number;
  readonly maxAttempts: number;
  /** True when per-request debug lines are wanted; checked before building them. */
  readonly debug: boolean;
}

export function forwardingSettings(
  keySource: KeySource,
  demandHeader: string,
  limits: { readonly maxBodyBytes: number; readonly maxHeaderCount: number; readonly maxAttempts: number },
  debug: boolean,
): ForwardingSettings {
  return {
    keySource,
    keyHeaderName: keySource.kind === 'header' ? keySource.name : keySource.kind === 'cookie' ? 'cookie' : '',
    demandHeaderName: demandHeader.toLowerCase(),
    maxBodyBytes: limits.maxBodyBytes,
    maxHeaderCount: limits.maxHeaderCount,
    maxAttempts: limits.maxAttempts,
    debug,
  };
}

/**
 * Client traffic as graceful shutdown sees it: whether replies should ask
 * clients to go away, how many requests are unfinished, and when the latest
 * one arrived.
 */
export class Traffic {
  /** True once SIGTERM arrived: replies carry Connection: close. */
  draining = false;
  /** Client requests not yet finished (shutdown waits for zero). */
  active = 0;
  /** performance.now() of the latest request (shutdown waits for a quiet spell). */
  lastRequestAt = 0;

  /** No request unfinished and none for `quietMs`. */
  isQuiet(quietMs: number): boolean {
    return this.active === 0 && performance.now() - this.lastRequestAt >= quietMs;
  }
}

/** The collaborators every exchange shares, built once per proxy. The strategy is reached through the fleet. */
export interface Forwarding {
  readonly settings: ForwardingSettings;
  readonly fleet: Fleet;
  readonly metrics: ProxyMetrics;
  readonly retryBudget: RetryBudget;
  readonly requestIds: RequestIds;
  readonly traffic: Traffic;
  readonly tunnels: Tunnels;
  readonly log: Logger;
}
