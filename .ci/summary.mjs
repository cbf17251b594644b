// The run's last lines: what failed, by name, then "N passed, N failed". Only the tail of a
// CI log is kept, so the names of the failures must be printed here, next to the count.
import fs from 'node:fs';

const freshCloneOk = Number(process.argv[2]) === 0;
const testsFile = 'test-output/results.json';
const chaosFile = 'test-output/chaos.json';

if (!fs.existsSync(testsFile)) {
  console.log('the test run wrote no report');
  console.log('0 passed, 1 failed');
  process.exit(0);
}
const tests = JSON.parse(fs.readFileSync(testsFile, 'utf8'));
// A chaos suite that did not report counts as one failure.
const chaos = fs.existsSync(chaosFile) ? JSON.parse(fs.readFileSync(chaosFile, 'utf8')) : { passed: 0, failed: 1, rows: [] };

const failures = [];
for (const file of tests.testResults ?? []) {
  const failedHere = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
  for (const t of failedHere) failures.push(`test  ${file.name.replace(process.cwd() + '/', '')} > ${t.fullName}: ${firstLine(t.failureMessages?.[0])}`);
  if (failedHere.length === 0 && file.status === 'failed') failures.push(`test  ${file.name}: ${firstLine(file.message)}`);
}
for (const row of chaos.rows ?? []) if (!row.ok) failures.push(`chaos ${row.fault} | ${row.checked} | ${row.figures}`);
if (!fs.existsSync(chaosFile)) failures.push('chaos: the suite wrote no report');
if (!freshCloneOk) failures.push('fresh clone: .ci/fresh-clone failed (see its output above)');

if (failures.length > 0) {
  console.log('failed:');
  for (const line of failures) console.log(`  ${line}`);
}
const skipped = tests.numPendingTests + tests.numTodoTests;
const passed = tests.numPassedTests + chaos.passed + (freshCloneOk ? 1 : 0);
const failed = tests.numFailedTests + chaos.failed + (freshCloneOk ? 0 : 1);
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));

function firstLine(text) {
  return String(text ?? '').split('\n')[0].slice(0, 300);
}
