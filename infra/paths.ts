import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository root: the nearest directory above this module whose
 * package.json is Ringmaster's. The app runs both from source (tests) and
 * bundled into dist/infra (cdk.json's `app`), so paths to the image contexts and
 * the Lambda's source are found from here rather than from the module's own
 * location or the working directory.
 */
export function repoRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'ringmaster') return dir;
    if (dirname(dir) === dir) throw new Error(`no ringmaster package.json above ${from}`);
  }
}
