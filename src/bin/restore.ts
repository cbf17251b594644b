/**
 * Point-in-time restore from the primary's Litestream replica into a new file.
 *
 *   npm run restore -- --output restored.db [--timestamp 2026-11-27T08:00:00Z]
 *   node dist/bin/restore.js --output restored.db   (inside the Docker image)
 *
 * Reads the same environment as the service (DATA_DIR, BUCKET_NAME, AWS_*, LITESTREAM_*),
 * lists the generations found, restores with progress on stderr, checks the result with
 * PRAGMA integrity_check and prints what it holds. It never writes over an existing file.
 * Runbook (docs/operations.md): restore to a new file, stop the primary, swap, start.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, EnvReader } from '../config/env.js';
import { checkRestoreRequest, listGenerations, RestoreError, type RestoreProgress, restoreDatabase } from '../replication/litestream/restore.js';
import { describeReplica, readLitestreamSettings } from '../replication/litestream/settings.js';

// From source `npm run restore -- …`; in the image, compiled: `node dist/bin/restore.js …`.
const COMMAND = import.meta.url.endsWith('.ts') ? 'npm run restore --' : 'node dist/bin/restore.js';
const USAGE = `usage: ${COMMAND} --output <path> [--timestamp <RFC3339>]`;

async function main(): Promise<number> {
  let values: { output?: string; timestamp?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { output: { type: 'string' }, timestamp: { type: 'string' }, help: { type: 'boolean' } } }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.output) {
    console.error(`--output is required\n${USAGE}`);
    return 2;
  }

  const read = new EnvReader(process.env);
  const settings = readLitestreamSettings(process.env, path.resolve(read.string('DATA_DIR', './data')), read);
  try {
    read.check();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }

  const request = { output: values.output, timestamp: values.timestamp, onProgress: showProgress };
  checkRestoreRequest(settings, request);
  console.error(`replica: ${describeReplica(settings)}`);
  const generations = await listGenerations(settings);
  if (generations.length === 0) {
    console.error(`no generations found for ${settings.dbPath}: nothing to restore`);
    return 1;
  }
  console.error('generations found (newest data last):');
  for (const g of generations) console.error(`  ${g.generation}  ${g.start} .. ${g.end}  (lag ${g.lag}, replica ${g.replica})`);
  console.error(`restoring ${values.timestamp ? `the state at ${values.timestamp}` : 'the latest state'} into ${path.resolve(values.output)}`);

  const summary = await restoreDatabase(settings, request);
  const time = (ms: number | undefined) => (ms === undefined ? 'none' : new Date(ms).toISOString());
  if (summary.endOfGeneration) {
    console.log(`${values.timestamp} falls between generations: restored generation ${summary.endOfGeneration} to its end, the state at that time`);
  }
  console.log(`restored ${summary.output} (${(summary.bytes / 1e6).toFixed(1)} MB) in ${summary.seconds.toFixed(1)} s; integrity_check ok`);
  console.log(`newest heartbeat: ${time(summary.heartbeatMs)}`);
  console.log(`newest like:      ${time(summary.newestLikeUs === undefined ? undefined : summary.newestLikeUs / 1000)}`);
  console.log(`likes:            ${summary.likes}`);
  return 0;
}

function showProgress(progress: RestoreProgress): void {
  switch (progress.stage) {
    case 'snapshot':
      console.error(`  snapshot of generation ${progress.generation} at WAL index ${progress.index}`);
      break;
    case 'wal': {
      const total = progress.last - progress.first + 1;
      const done = progress.index - progress.first + 1;
      console.error(`  WAL ${done}/${total} applied (index ${progress.index})`);
      break;
    }
    case 'check':
      console.error('  checking integrity');
      break;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof RestoreError ? `restore failed: ${err.message}` : err);
    process.exit(1);
  },
);
