import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // End-to-end files start real processes and push load through them; on two
    // cores they are steadier one at a time.
    fileParallelism: false,
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: 'dist/test-results.json' }]],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
