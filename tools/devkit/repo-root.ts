import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Thrown when no Ringmaster checkout is found above a path. */
export class RepoRootError extends Error {
  override readonly name = 'RepoRootError';
}

const found = new Map<string, string>();

/**
 * The repository root: the nearest directory at or above `from` whose
 * package.json is Ringmaster's. The one way every script, benchmark, test and
 * the CDK app find it: they run both from source (vitest) and bundled into
 * dist/ at different depths (dist/scripts/, dist/bench/, dist/infra/), so
 * neither the module's own location nor the working directory says where the
 * root is. By default `from` is this module's directory, which in a bundle is
 * the bundle's. The production bundles never need it.
 */
export function repoRoot(from: string = import.meta.dirname): string {
  const known = found.get(from);
  if (known !== undefined) return known;
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'ringmaster'
    ) {
      found.set(from, dir);
      return dir;
    }
    if (dirname(dir) === dir) throw new RepoRootError(`no ringmaster package.json at or above ${from}`);
  }
}
