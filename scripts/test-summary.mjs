// Prints vitest's totals as one plain line, "tests: N passed, N failed, N skipped", for CI logs.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync('dist/test-results.json', 'utf8'));
console.log(
  `tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`,
);
if (report.numTotalTests === 0 || report.numFailedTests > 0) process.exit(1);
