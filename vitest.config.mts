import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file in its own process: tests fork, become subreapers and change ids.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // .ci/run counts results from the JSON report; people read the default one.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
