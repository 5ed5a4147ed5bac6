import { readFileSync } from 'node:fs';
import { ConfigError } from './env.js';

/** Shortest bearer token accepted: 128 bits of entropy as hex. */
export const MIN_TOKEN_LENGTH = 32;

/**
 * Reads a secret from `<NAME>_FILE` (a mounted file, preferred) or `<NAME>`
 * (what ECS injects from Secrets Manager). Secrets never come from plain
 * task-definition environment values; that is enforced in infra, not here.
 */
export function readSecret(env: Record<string, string | undefined>, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  let value = env[name];
  if (file) {
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (cause) {
      throw new ConfigError(`${name}_FILE: cannot read ${file}`, [`${name}_FILE: unreadable`], { cause });
    }
  }
  if (value !== undefined && value !== '' && value.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(`${name}: must be at least ${MIN_TOKEN_LENGTH} characters`, [`${name}: too short`]);
  }
  return value || undefined;
}
