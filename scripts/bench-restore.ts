/**
 * Restore and replication benchmark, against the real Litestream binary and a local S3 server:
 *   1. ingest rate of the service alone, full speed;
 *   2. the same dataset through the launcher with Litestream replicating: the ratio is what
 *      replication costs; the WAL's peak and Litestream's error lines show checkpoints keep up;
 *   3. a database of about --restore-gb built through the launcher, then restored by our
 *      script's path and by the bare `litestream restore`, side by side: first from the
 *      replica as built (a snapshot of the new database and all the WAL since), then after
 *      a fresh snapshot of the full database;
 *   4. Litestream's S3 requests by class at the firehose rate, per sync interval, priced for
 *      a month at Tigris list prices.
 *
 *   npm run bench:restore [-- --likes 2000000 --restore-gb 1 --rounds 3 --sync-intervals 1s,5s,10s
 *                             --rate 2000 --cost-seconds 60 --seed 42 --keep]
 *
 * Progress goes to stderr; a table and one closing JSON line of the figures to stdout.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readLitestreamSettings } from '../src/replication/litestream/settings.js';
import { startS3Server } from '../testkit/standins/s3-server.js';
import { startBenchSession } from './bench/bench-session.js';
import { measureRequestCost, type RequestCost } from './bench/restore-cost.js';
import { databaseBytes, ingestAlone, ingestReplicated } from './bench/restore-ingest.js';
import { snapshotNow } from './bench/restore-launcher.js';
import { printRestoreTable, restoreFigures } from './bench/restore-report.js';
import { timeRestores } from './bench/restore-timing.js';

const COST_WARMUP_S = 10;
/** Generated datasets come in steps of this many likes. */
const LIKES_STEP = 100_000;

const { values } = parseArgs({
  options: {
    likes: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '42' },
    'restore-gb': { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'sync-intervals': { type: 'string', default: '1s,5s,10s' },
    rate: { type: 'string', default: '2000' },
    'cost-seconds': { type: 'string', default: '60' },
    keep: { type: 'boolean', default: false },
  },
});
const likes = Number(values.likes);
const seed = Number(values.seed);
const restoreBytes = Number(values['restore-gb']) * 1e9;
const rounds = Number(values.rounds);
const syncIntervals = values['sync-intervals'].split(',').map((s) => s.trim()).filter(Boolean);
const ratePerS = Number(values.rate);
const costSeconds = Number(values['cost-seconds']);
if (!Number.isSafeInteger(likes) || likes < 10_000) throw new Error('--likes must be an integer >= 10000');
if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');
if (!(restoreBytes >= 1e7)) throw new Error('--restore-gb must be at least 0.01');
if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error('--rounds must be an integer >= 1');
if (syncIntervals.some((s) => !/^\d+(ms|s|m)$/.test(s))) throw new Error('--sync-intervals: Go durations such as 1s,5s,10s');
if (!(ratePerS > 0) || !(costSeconds > 0)) throw new Error('--rate and --cost-seconds must be positive');

const session = startBenchSession('restore');
const { outDir } = session;
const dataset = (count: number) => session.dataset(count, seed);
const s3 = await startS3Server({ directory: path.join(outDir, 's3') });
/** Each launcher run: its own data folder, bucket prefix and log, named alike. */
const launcherFor = (name: string) => ({
  dataDir: path.join(outDir, name),
  s3Env: s3.env(),
  prefix: name,
  logFile: path.join(outDir, `${name}.log`),
});

// 1. Without Litestream.
const rateDataset = await dataset(likes);
console.error('phase 1: ingest without Litestream (service alone)');
const alone = await ingestAlone(rateDataset, path.join(outDir, 'ingest-alone'));

// 2. With Litestream, same dataset.
console.error('phase 2: ingest with Litestream replicating (launcher)');
const phase2 = launcherFor('ingest-replicated');
const replicated = await ingestReplicated(rateDataset, phase2);
const bytesPerLike = databaseBytes(path.join(phase2.dataDir, 'feed.db')) / replicated.likesStored;

// 3. A database of the target size, restored both ways: as built, then from a fresh snapshot.
const restoreLikes = Math.ceil(restoreBytes / bytesPerLike / LIKES_STEP) * LIKES_STEP;
console.error(`phase 3: building a ~${(restoreBytes / 1e6).toFixed(0)} MB database (${bytesPerLike.toFixed(0)} bytes per like: ${restoreLikes.toLocaleString()} likes)`);
const build = launcherFor('restore-primary');
const buildStarted = performance.now();
const built = await ingestReplicated(await dataset(restoreLikes), build);
const buildSeconds = (performance.now() - buildStarted) / 1000;
const settings = readLitestreamSettings({ ...process.env, ...build.s3Env, LITESTREAM_PATH: build.prefix, LITESTREAM_METRICS_ADDR: '' }, build.dataDir);
console.error(`restoring the replica as built (a snapshot of the new database, then ${(built.log.walSegmentBytes / 1e6).toFixed(0)} MB of WAL)`);
const fromWal = await timeRestores(settings, outDir, rounds);
console.error('having Litestream snapshot the full database...');
const snapshotBytes = await snapshotNow({ ...build, logFile: path.join(outDir, 'restore-snapshot.log') }, buildSeconds);
console.error('restoring from the fresh snapshot');
const fromSnapshot = await timeRestores(settings, outDir, rounds);

// 4. Requests and their price per sync interval, at the firehose rate.
const costs: RequestCost[] = [];
for (const syncInterval of syncIntervals) {
  console.error(`phase 4: S3 requests at ${ratePerS} events/s, sync interval ${syncInterval} (${COST_WARMUP_S} s warm-up, ${costSeconds} s counted)`);
  const run = launcherFor(`cost-${syncInterval}`);
  costs.push(await measureRequestCost(s3, { ...run, dataset: rateDataset, syncInterval, ratePerS, warmupS: COST_WARMUP_S, windowS: costSeconds }));
}
await s3.close();

const results = { likes, alone, replicated, built, fromWal, fromSnapshot, snapshotBytes, costs, ratePerS, costSeconds };
session.finish({
  keep: values.keep,
  entries: ['s3', 'ingest-alone', phase2.dataDir, build.dataDir, ...syncIntervals.map((s) => `cost-${s}`)],
  printTable: () => printRestoreTable(results),
  figures: restoreFigures(results),
});
