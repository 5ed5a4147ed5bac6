import { ConfigError } from './env.js';

/**
 * Loads a runnable's configuration or exits with status 2 and a message that
 * names every bad setting: fail fast, before anything listens or connects.
 */
export function loadOrExit<T>(program: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${program}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
