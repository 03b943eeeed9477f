// Counts one vitest JSON report for .ci/run: prints "PASSED FAILED SKIPPED" (three numbers),
// or exits 2 when the report is missing or unreadable.
// Usage: node scripts/ci-summary.cjs test-results.json
const { readFileSync } = require('node:fs');

let report;
try {
  report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (e) {
  console.error(`no readable test report at ${process.argv[2]}: ${e.message}`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of report.testResults) {
  for (const t of file.assertionResults) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') failed++;
    else skipped++;
  }
  // A file that failed to load has no assertions but still failed.
  if (file.status === 'failed' && file.assertionResults.every((t) => t.status !== 'failed')) failed++;
}
console.log(`${passed} ${failed} ${skipped}`);
