import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type DeploymentConfig, parseDeploymentConfig } from '#core/config/deployment.js';
import { ConfigError, optionalIntVar, parseEnv, portVar } from '#core/config/env.js';

/** What `npm start` takes from its environment, on top of cdk.json. */
const localEnv = z.object({
  RINGMASTER_PORT: portVar(8080),
  RINGMASTER_ADMIN_PORT: portVar(8081),
  /** Servers to start with; cdk.json's servers.initialCount by default. */
  RINGMASTER_SERVERS: optionalIntVar(1, 64),
  /** The deployment name: the Environment dimension and part of every resource name. */
  RINGMASTER_ENV_NAME: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,15}$/, { error: 'expected 1-16 lower-case letters, digits or "-"' })
    .default('local'),
  /** A budget for this run instead of cdk.json's, e.g. a small one to watch the cap at work. */
  RINGMASTER_BUDGET_USD: z.coerce.number({ error: 'expected a number of US dollars' }).positive().optional(),
  RINGMASTER_BUDGET_PERIOD: z.enum(['day', 'week', 'month']).optional(),
  /** Start this period's ledger at this many dollars, as if the period so far had cost that much. */
  RINGMASTER_SPENT_USD: z.coerce.number({ error: 'expected a number of US dollars' }).min(0).optional(),
  /**
   * Start this period's ledger so that only this many dollars are left beyond
   * the safety margin and what the minimum counts cost to the period's end:
   * the budget binds at once, whatever the date.
   */
  RINGMASTER_LEFT_USD: z.coerce.number({ error: 'expected a number of US dollars' }).min(0).optional(),
  /** Seconds between autoscaler invocations; cdk.json's autoscaler.scheduleMinutes by default. */
  RINGMASTER_TICK_SECONDS: optionalIntVar(1, 3600),
  /**
   * The seed's balancers' compatibility mode (the proxy's SEED_COMPAT): /rep, /add, /rm and /init
   * also on the data port, without a token. On by default: `npm start` binds only to 127.0.0.1,
   * and it is what lets the seeds' scripts run unchanged. 0 turns it off.
   */
  RINGMASTER_SEED_COMPAT: z
    .enum(['1', 'true', 'yes', '0', 'false', 'no'], { error: 'expected 1/true/yes or 0/false/no' })
    .default('1')
    .transform((v) => v === '1' || v === 'true' || v === 'yes'),
});

/**
 * Servers the compatibility mode allows beyond cdk.json's servers.maxCount: the seed's flow
 * (/init naming six servers, /add two more) runs beside the servers `npm start` begins with.
 * The autoscaler's own bounds are unchanged.
 */
export const SEED_EXTRA_SERVERS = 8;

export interface LocalSettings {
  readonly proxyPort: number;
  readonly adminPort: number;
  readonly servers: number;
  readonly envName: string;
  readonly tickMs: number;
  /** The compatibility mode for the seed's balancers' scripts (RINGMASTER_SEED_COMPAT). */
  readonly seedCompat: boolean;
  /** The most servers /add may reach (the proxy's MAX_SERVERS). */
  readonly maxServers: number;
  /** Where this period's ledger starts (RINGMASTER_SPENT_USD), if not where the autoscaler left it. */
  readonly spentUsd: number | undefined;
  /** Dollars to leave beyond the minimum counts to the period's end (RINGMASTER_LEFT_USD), if set. */
  readonly leftUsd: number | undefined;
  /** cdk.json's `ringmaster` context with the run's overrides, validated by the deployment schema. */
  readonly config: DeploymentConfig;
}

/**
 * The local run's settings: cdk.json's deployment settings (the same schema
 * `cdk synth` and the Lambda use) with the overrides from the environment.
 * A bad value fails before anything starts, naming the key and the override.
 */
export function readLocalSettings(root: string, env: Record<string, string | undefined>): LocalSettings {
  const local = parseEnv(localEnv, env, 'npm start');
  const cdk = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context?: { ringmaster?: unknown } };
  const committed = cdk.context?.ringmaster as { autoscaler?: Record<string, unknown> } | undefined;
  const overrides = {
    ...(local.RINGMASTER_BUDGET_USD === undefined ? {} : { budgetUsd: local.RINGMASTER_BUDGET_USD }),
    ...(local.RINGMASTER_BUDGET_PERIOD === undefined ? {} : { budgetPeriod: local.RINGMASTER_BUDGET_PERIOD }),
  };
  let config: DeploymentConfig;
  try {
    config = parseDeploymentConfig({
      ...committed,
      envName: local.RINGMASTER_ENV_NAME,
      autoscaler: { ...committed?.autoscaler, ...overrides },
    });
  } catch (cause) {
    const applied = Object.entries({
      RINGMASTER_BUDGET_USD: local.RINGMASTER_BUDGET_USD,
      RINGMASTER_BUDGET_PERIOD: local.RINGMASTER_BUDGET_PERIOD,
    })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    const from = applied.length > 0 ? `cdk.json with ${applied.join(', ')}` : 'cdk.json';
    throw new ConfigError(`npm start: settings from ${from}: ${(cause as Error).message}`, [], { cause });
  }
  const spentUsd = local.RINGMASTER_SPENT_USD;
  if (spentUsd !== undefined && local.RINGMASTER_LEFT_USD !== undefined) {
    throw new ConfigError('npm start: RINGMASTER_LEFT_USD: give it or RINGMASTER_SPENT_USD, not both', []);
  }
  if (spentUsd !== undefined && spentUsd >= config.autoscaler.budgetUsd) {
    throw new ConfigError(
      `npm start: RINGMASTER_SPENT_USD: must be less than the budget (${config.autoscaler.budgetUsd} USD per ${config.autoscaler.budgetPeriod}), got ${spentUsd}`,
      [],
    );
  }
  return {
    proxyPort: local.RINGMASTER_PORT,
    adminPort: local.RINGMASTER_ADMIN_PORT,
    servers: local.RINGMASTER_SERVERS ?? config.servers.initialCount,
    envName: config.envName,
    spentUsd,
    seedCompat: local.RINGMASTER_SEED_COMPAT,
    maxServers: config.servers.maxCount + (local.RINGMASTER_SEED_COMPAT ? SEED_EXTRA_SERVERS : 0),
    leftUsd: local.RINGMASTER_LEFT_USD,
    tickMs: (local.RINGMASTER_TICK_SECONDS ?? config.autoscaler.scheduleMinutes * 60) * 1000,
    config,
  };
}
