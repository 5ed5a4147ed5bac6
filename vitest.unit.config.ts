import { defineConfig } from 'vitest/config';

/**
 * The fast loop (`npm run test:unit`): every test that needs neither the AWS
 * emulator nor a built bundle, which is exactly test/unit/. No global setup, so
 * nothing is built and no MiniStack starts, and files run in parallel.
 *
 * Left to the full suite (vitest.config.ts, `npm test`): test/integration/ (the
 * emulator), test/e2e/ (the bundles in dist/, real processes, the emulator) and
 * test/infra/ (synth stages the images' build contexts from dist/images/, which
 * `npm run build` writes, and bundles the Lambda with esbuild: seconds per file).
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    fileParallelism: true,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
