// Bundles every runnable into one file each under dist/, and stages each image's build context under
// dist/images/<tier>/ (the Dockerfile and exactly the files it copies: see stageImageContexts).
// `--synth` builds only what `cdk synth` and `cdk deploy` need: the CDK app and the images' bundles and
// contexts (cdk.json's `app` runs it before every synth).
// First: on a Node older than package.json's engines, stop here with install instructions.
import './require-node.mjs';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const banner = {
  js: "import { createRequire as __rmCreateRequire } from 'node:module'; const require = __rmCreateRequire(import.meta.url);",
};

/** What every bundle shares: one ESM file per entry under dist/, for Node 24 (the images', the Lambda's and CI's). */
const common = {
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};

/**
 * The CDK app, with aws-cdk-lib, constructs and cdk-nag left to node_modules:
 * aws-cdk-lib finds its own files (custom resource handlers, schemas) next to
 * its modules, which a bundle would break.
 */
const infra = build({
  ...common,
  entryPoints: { 'infra/app': 'infra/bin/app.ts' },
  external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag', 'esbuild'],
  banner,
});

/** The images' entry points: each bundle is what its Dockerfile copies and runs. */
const imageEntryPoints = {
  proxy: 'containers/proxy/src/main.ts',
  server: 'containers/server/src/main.ts',
};

/**
 * Empties and refills dist/images/<tier>/ with the tier's Dockerfile, its bundle and source map, and a
 * package.json that marks the bundle an ES module (the image has no other package.json above it). Only
 * files the Dockerfile names are staged, and nothing from an earlier build survives, so the context the
 * CDK stages (infra/constructs/tier-image.ts) holds exactly what the image must run.
 */
function stageImageContexts() {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
  for (const tier of Object.keys(imageEntryPoints)) {
    const dir = `dist/images/${tier}`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    copyFileSync(`containers/${tier}/Dockerfile`, `${dir}/Dockerfile`);
    copyFileSync(`dist/${tier}.js`, `${dir}/${tier}.js`);
    copyFileSync(`dist/${tier}.js.map`, `${dir}/${tier}.js.map`);
    const manifest = { name: `ringmaster-${tier}`, version, private: true, type: 'module' };
    writeFileSync(`${dir}/package.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

if (process.argv.includes('--synth')) {
  await Promise.all([infra, build({ ...common, entryPoints: imageEntryPoints, banner })]);
  stageImageContexts();
  process.exit(0);
}

const entryPoints = {
  ...imageEntryPoints,
  // The proxy with local server processes (npm start, the end-to-end tests, the benchmarks); never in an image.
  'dev-proxy': 'scripts/local/dev-proxy.ts',
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
  'bench/websocket': 'bench/websocket.ts',
  // bench:websocket's load generator, which it runs in a process of its own.
  'bench/ws-load': 'bench/lib/ws-load.ts',
  'bench/peers/node-http-proxy': 'bench/peers/node-http-proxy.ts',
  'bench/peers/fastify-http-proxy': 'bench/peers/fastify-http-proxy.ts',
  'fuzz/http': 'test/fuzz/cli.ts',
};

const { metafile } = await build({
  ...common,
  entryPoints,
  // Bundled CommonJS dependencies (pino, undici) call require(); give ESM output one.
  banner,
  // Which source files went into which bundle: test/infra/proxy-bundle.test.ts checks the production proxy's.
  metafile: true,
});
writeFileSync('dist/metafile.json', JSON.stringify(metafile));
stageImageContexts();
await infra;
