import { defineConfig } from 'vitest/config';

// Most of the suite observes processes through Linux's /proc and keeps them under control as
// a child subreaper (prctl), neither of which other systems have. Elsewhere (macOS) only the
// files that need neither run, and the others are named here, once, with the reason.
const portable = ['api-docs', 'bench-charts', 'binary', 'docs', 'layout', 'native', 'unit'].map((name) => `test/${name}.test.ts`);
const linux = process.platform === 'linux';
if (!linux) {
  console.log(`not run on ${process.platform}: every test file but ${portable.join(', ')} (they read /proc and use prctl's child subreaper)`);
}

export default defineConfig({
  test: {
    include: linux ? ['test/**/*.test.ts'] : portable,
    // Each test file in its own process: tests fork, become subreapers and change ids.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // .ci/run counts results from the JSON report; people read the default one.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
