import { execFileSync } from 'node:child_process';

/** The end-to-end tests run the bundles, exactly as the containers do; build them first. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
