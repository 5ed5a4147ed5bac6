/**
 * `npm run deploy:local`: deploys every stack to an AWS emulator, the same
 * `cdk bootstrap` and `cdk deploy --all` a real account gets, with
 * `-c emulator=true` (see infra/emulator.ts for what that changes).
 *
 * - With AWS_ENDPOINT_URL set (a user's LocalStack, or a running MiniStack),
 *   it deploys there and exits.
 * - Without it, it starts MiniStack, deploys, prints the outputs and keeps
 *   the emulator running until Ctrl-C, so the deployment can be inspected.
 *
 * `npm run deploy:local -- --destroy` runs `cdk destroy --all` instead.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployToEmulator, destroyOnEmulator } from '#devkit/cdk.js';
import { useEmulator } from '#devkit/emulator.js';
import { repoRoot } from '#devkit/repo-root.js';

const root = repoRoot();
const destroy = process.argv.includes('--destroy');
const emulator = await useEmulator(root);
const deployment = { root, endpoint: emulator.endpoint };
try {
  if (destroy) {
    await destroyOnEmulator(deployment);
    process.stdout.write(`Destroyed every Ringmaster stack at ${emulator.endpoint}.\n`);
  } else {
    process.stdout.write(`Deploying to ${emulator.endpoint} (bootstrap, then cdk deploy --all)…\n`);
    const outputs = await deployToEmulator(
      deployment,
      join(mkdtempSync(join(tmpdir(), 'ringmaster-cdk-')), 'outputs.json'),
    );
    for (const [stack, values] of Object.entries(outputs)) {
      process.stdout.write(`\n${stack}\n`);
      // ExportsOutput* are the CDK's cross-stack plumbing, not something to read.
      for (const [key, value] of Object.entries(values).filter(([k]) => !k.startsWith('ExportsOutput')))
        process.stdout.write(`  ${key.padEnd(22)} ${value}\n`);
    }
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  await emulator.stop();
  process.exit(1);
}
if (emulator.owned && !destroy) {
  process.stdout.write(
    `\nMiniStack is running at ${emulator.endpoint}; press Ctrl-C to stop it (everything deployed goes with it).\n` +
      `  e.g. AWS_ENDPOINT_URL=${emulator.endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 aws ecs list-services --cluster <ClusterName>\n`,
  );
  const stop = () => void emulator.stop().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  await emulator.stop();
}
