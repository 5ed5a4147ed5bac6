import { z } from 'zod';

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
