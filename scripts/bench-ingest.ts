/**
 * Ingest benchmark: a generated like stream replayed over a real WebSocket into a
 * fresh database by the service process itself, then the raw limit of the same
 * rows through a bare better-sqlite3 loop, side by side in one run.
 *
 *   npm run bench:ingest [-- --likes 2000000 --seed 42]
 *
 * Prints progress, a table, and one closing JSON line of the figures.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configFromEnv } from '../src/config/config.js';
import { ensureDataset, waitForIngestToSettle } from './bench/ingest-phase.js';
import { buildService, cpuSeconds, freePort, peakRssMb, REPO_ROOT, spawnBuiltService, spawnTs, stopChild, waitForLine } from '../testkit/processes/processes.js';
import { round } from './bench/figure-cells.js';
import { measureRawInsertLimit } from './bench/raw-insert.js';

const { values } = parseArgs({
  options: {
    likes: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '42' },
  },
});
const likes = Number(values.likes);
const seed = Number(values.seed);
if (!Number.isSafeInteger(likes) || likes < 1000) throw new Error('--likes must be an integer >= 1000');
if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');

const outDir = path.join(REPO_ROOT, 'bench-output');
mkdirSync(outDir, { recursive: true });
const dataset = await ensureDataset({ name: `likes-${likes}-seed${seed}`, seed, likes });

// 1. End to end: replay server and the compiled service as separate processes, as in production.
console.error('building the service...');
buildService();
const dataDir = path.join(outDir, 'ingest-data');
rmSync(dataDir, { recursive: true, force: true });
const replay = spawnTs('scripts/jetstream-replay.ts', ['--file', dataset, '--at-end', 'idle']);
const jetstreamUrl = await waitForLine(replay, /listening on (\S+)/);
const port = await freePort();
const service = spawnBuiltService({ DATA_DIR: dataDir, PORT: String(port), JETSTREAM_URL: jetstreamUrl, LOG_LEVEL: 'warn' });
service.stderr!.pipe(process.stderr);
const settled = await waitForIngestToSettle(`http://127.0.0.1:${port}/metrics`);
const e2e = { ...settled, peakRssMb: peakRssMb(service.pid!), cpuSeconds: cpuSeconds(service.pid!) };
await stopChild(service);
await stopChild(replay);

// 2. The raw limit of the same rows, measured right after on the same machine.
console.error('measuring the raw insert limit...');
const rawDir = path.join(outDir, 'raw-data');
rmSync(rawDir, { recursive: true, force: true });
const raw = await measureRawInsertLimit(dataset, path.join(rawDir, 'feed.db'), configFromEnv(process.env).db);
rmSync(rawDir, { recursive: true, force: true });

const figures = {
  likes_in_dataset: likes,
  events: e2e.events,
  likes_stored: e2e.likesStored,
  seconds: round(e2e.seconds, 2),
  events_per_s: Math.round(e2e.events / e2e.seconds),
  likes_per_s: Math.round(e2e.likesStored / e2e.seconds),
  raw_limit_events_per_s: Math.round(raw.rowsPerSecond),
  ratio_to_raw: round(e2e.events / e2e.seconds / raw.rowsPerSecond, 2),
  peak_rss_mb: Math.round(e2e.peakRssMb),
  cpu_s_per_million_events: round((e2e.cpuSeconds / e2e.events) * 1e6, 2),
};
console.log('');
console.log('ingest benchmark');
console.log(`  dataset                 ${path.relative(REPO_ROOT, dataset)} (${likes.toLocaleString()} likes)`);
console.log(`  frames ingested         ${e2e.events.toLocaleString()} in ${figures.seconds} s`);
console.log(`  end to end              ${figures.events_per_s.toLocaleString()} events/s (${figures.likes_per_s.toLocaleString()} likes/s)`);
console.log(`  raw limit (bare loop)   ${figures.raw_limit_events_per_s.toLocaleString()} like rows/s`);
console.log(`  end to end / raw        ${figures.ratio_to_raw}`);
console.log(`  service peak RSS        ${figures.peak_rss_mb} MB`);
console.log(`  service CPU             ${figures.cpu_s_per_million_events} s per million events`);
console.log(JSON.stringify(figures));
