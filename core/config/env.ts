import { z } from 'zod';
import { TABLE_NAME_PATTERN, TABLE_NAME_RULE } from '../aws/table-name.js';

/** Configuration that cannot be used as given; names each variable and the reason. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Parses environment variables with a zod object schema whose keys are the
 * variable names. Fails fast with every problem listed, e.g.
 * `PROXY_PORT: expected a number from 0 to 65535, got "http"`.
 */
export function parseEnv<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
  what: string,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const key = issue.path.join('.');
    const got = env[key];
    return `${key}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(`invalid ${what} configuration:\n  ${issues.join('\n  ')}`, issues, { cause: result.error });
}

/** Integer variable with a default and an inclusive range. */
export function intVar(defaultValue: number, min: number, max: number) {
  return z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int({ error: `expected a whole number from ${min} to ${max}` })
    .min(min, { error: `expected a whole number from ${min} to ${max}` })
    .max(max, { error: `expected a whole number from ${min} to ${max}` })
    .default(defaultValue);
}

/** Integer variable with an inclusive range and no default: unset stays undefined, for defaults that depend on other settings. */
export function optionalIntVar(min: number, max: number) {
  return z.coerce
    .number({ error: `expected a whole number from ${min} to ${max}` })
    .int({ error: `expected a whole number from ${min} to ${max}` })
    .min(min, { error: `expected a whole number from ${min} to ${max}` })
    .max(max, { error: `expected a whole number from ${min} to ${max}` })
    .optional();
}

/** Decimal variable with a default and an inclusive range. */
export function numberVar(defaultValue: number, min: number, max: number) {
  return z.coerce
    .number({ error: `expected a number from ${min} to ${max}` })
    .min(min, { error: `expected a number from ${min} to ${max}` })
    .max(max, { error: `expected a number from ${min} to ${max}` })
    .default(defaultValue);
}

/** "1"/"true"/"yes" or "0"/"false"/"no"/"" (unset). */
export function flagVar() {
  return z
    .enum(['1', 'true', 'yes', '0', 'false', 'no', ''], { error: 'expected 1/true/yes or 0/false/no' })
    .default('')
    .transform((v) => v === '1' || v === 'true' || v === 'yes');
}

export const portVar = (defaultValue: number) => intVar(defaultValue, 0, 65535);

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** pino's levels, `info` by default. */
export function logLevelVar() {
  return z.enum(LOG_LEVELS).default('info');
}

/** An optional DynamoDB table name: unset (or empty) means the feature is off. */
export function tableNameVar() {
  return z
    .string()
    .default('')
    .refine((name) => name === '' || TABLE_NAME_PATTERN.test(name), { error: TABLE_NAME_RULE });
}

/** The records feature needs its three tables together: all set, or none. */
export const RECORD_TABLE_VARS = ['SHARD_TABLE', 'MAP_TABLE', 'RECORDS_TABLE'] as const;

export function checkRecordTables(parsed: Readonly<Record<(typeof RECORD_TABLE_VARS)[number], string>>): void {
  const set = RECORD_TABLE_VARS.filter((key) => parsed[key] !== '').length;
  if (set !== 0 && set !== RECORD_TABLE_VARS.length) {
    throw new ConfigError(`${RECORD_TABLE_VARS.join(', ')}: set all three or none`, ['SHARD_TABLE: incomplete']);
  }
}
