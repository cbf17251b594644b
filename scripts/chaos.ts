/**
 * The reliability suite: starts the real processes on loopback, injects each fault,
 * checks the outcome against a clean run, and prints a table.
 *
 *   npm run chaos [-- --size ci|full] [--only name,name] [--report file.json]
 *
 * `--size ci` (the default) fits the CI run; `full` is the size the scenarios are
 * specified at (20 SIGKILLs, 100,000 fuzzed frames, 2-minute outages and load) and
 * includes the 30-minute soak. Exit code 1 when any check fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllServices } from '../testkit/processes/child-service.js';
import { type ChaosRow, type ChaosSize, errorFigure, formatTable, RAN_TO_ITS_END, scenarioContext } from './chaos/outcome.js';
import { SCENARIOS } from './chaos/scenarios.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'ci' },
    only: { type: 'string' },
    report: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('npm run chaos [-- --size ci|full] [--only name,name] [--report file.json]');
  console.log(SCENARIOS.map((s) => `  ${s.name.padEnd(18)} ${s.inCi ? '(ci)  ' : '(full)'} ${s.summary}`).join('\n'));
  process.exit(0);
}
const size = values.size as ChaosSize;
if (size !== 'ci' && size !== 'full') throw new Error(`--size must be ci or full, got ${values.size}`);
const only = values.only?.split(',').filter(Boolean);
const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
if (unknown.length > 0) throw new Error(`--only: no scenario named ${unknown.join(', ')} (there are ${SCENARIOS.map((s) => s.name).join(', ')})`);
const chosen = SCENARIOS.filter((s) => (only ? only.includes(s.name) : s.inCi || size === 'full'));

const rows: ChaosRow[] = [];
const timings: Record<string, number> = {};
for (const scenario of chosen) {
  const started = Date.now();
  const { ctx, cleanup } = scenarioContext(scenario.name, size);
  ctx.log(`${scenario.summary}...`);
  try {
    rows.push(...(await scenario.run(ctx)));
  } catch (err) {
    rows.push({ fault: scenario.name, checked: RAN_TO_ITS_END, ok: false, figures: errorFigure(err, true) });
  } finally {
    killAllServices();
    cleanup();
  }
  timings[scenario.name] = Math.round((Date.now() - started) / 1000);
  ctx.log(`done in ${timings[scenario.name]} s`);
}

const failed = rows.filter((r) => !r.ok).length;
console.log('');
console.log(`chaos suite (size ${size}): ${rows.length - failed} checks passed, ${failed} failed`);
console.log(formatTable(rows));
const report = JSON.stringify({ size, passed: rows.length - failed, failed, seconds_by_scenario: timings, rows });
console.log(report);
if (values.report) {
  mkdirSync(path.dirname(values.report), { recursive: true });
  writeFileSync(values.report, `${report}\n`);
}
process.exit(failed > 0 ? 1 : 0);
