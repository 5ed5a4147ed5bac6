// Bundles every runnable into one file each under dist/ (what the Dockerfiles' CMD runs).
// `--infra` bundles only the CDK app (cdk.json's `app` runs it before every synth).
import { build } from 'esbuild';

const banner = {
  js: "import { createRequire as __rmCreateRequire } from 'node:module'; const require = __rmCreateRequire(import.meta.url);",
};

/**
 * The CDK app, with aws-cdk-lib, constructs and cdk-nag left to node_modules:
 * aws-cdk-lib finds its own files (custom resource handlers, schemas) next to
 * its modules, which a bundle would break.
 */
/** What every bundle shares: one ESM file per entry under dist/, for Node 20. */
const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};

const infra = build({
  ...common,
  entryPoints: { 'infra/app': 'infra/bin/app.ts' },
  external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag', 'esbuild'],
  banner,
});
if (process.argv.includes('--infra')) {
  await infra;
  process.exit(0);
}

const entryPoints = {
  proxy: 'containers/proxy/src/main.ts',
  server: 'containers/server/src/main.ts',
  'scripts/start': 'scripts/start.ts',
  'scripts/local-autoscaler': 'scripts/local-autoscaler.ts',
  'scripts/install-emulator': 'scripts/install-emulator.ts',
  'scripts/deploy-local': 'scripts/deploy-local.ts',
  'scripts/cost': 'scripts/cost.ts',
  'bench/ring': 'bench/ring.ts',
  'bench/proxy': 'bench/proxy.ts',
  'bench/shards': 'bench/shards.ts',
  'bench/control-plane': 'bench/control-plane.ts',
  'bench/experiments': 'bench/experiments.ts',
  'bench/autoscaler': 'bench/autoscaler.ts',
  'bench/soak': 'bench/soak.ts',
  'bench/peers/node-http-proxy': 'bench/peers/node-http-proxy.ts',
  'bench/peers/fastify-http-proxy': 'bench/peers/fastify-http-proxy.ts',
};

await build({
  ...common,
  entryPoints,
  // Bundled CommonJS dependencies (pino, undici) call require(); give ESM output one.
  banner,
});
await infra;
