// Bundles every runnable into one file each under dist/ (what the Dockerfiles' CMD runs).
import { build } from 'esbuild';

const entryPoints = {
  proxy: 'containers/proxy/src/main.ts',
  server: 'containers/server/src/main.ts',
  'scripts/start': 'scripts/start.ts',
  'scripts/install-emulator': 'scripts/install-emulator.ts',
  'bench/ring': 'bench/ring.ts',
  'bench/proxy': 'bench/proxy.ts',
  'bench/shards': 'bench/shards.ts',
  'bench/experiments': 'bench/experiments.ts',
  'bench/autoscaler': 'bench/autoscaler.ts',
  'bench/soak': 'bench/soak.ts',
  'bench/peers/node-http-proxy': 'bench/peers/node-http-proxy.ts',
  'bench/peers/fastify-http-proxy': 'bench/peers/fastify-http-proxy.ts',
};

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CommonJS dependencies (pino, undici) call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __rmCreateRequire } from 'node:module'; const require = __rmCreateRequire(import.meta.url);",
  },
});
