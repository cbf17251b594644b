/**
 * Read replica benchmark, against the real Litestream binary and a local S3 server: for
 * each rate, a fresh primary (the launcher, Litestream syncing every second) fed by the
 * replay server, and read replicas (the same launcher, ROLE=replica) following its
 * bucket prefix. Over a window after a warm-up: replica lag p50/p99/max (as the replica
 * reports it, and commit to visibility), the replica process's CPU share, and its S3
 * requests by class, priced for a month at Tigris list prices.
 *
 *   npm run bench:replica [-- --rates 2000,20000 --seconds 60 --replicas 1 --poll-ms 1000
 *                             --warmup-seconds 10 --sample-ms 100 --seed 42 --keep]
 *
 * Progress goes to stderr; a table and one closing JSON line of the figures to stdout.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startS3Server } from '../testkit/standins/s3-server.js';
import { startBenchSession } from './bench/bench-session.js';
import { printReplicaTable, replicaFigures } from './bench/replica-report.js';
import { type RateRun, runRate } from './bench/replica-run.js';

/** The cached bench dataset; a longer or faster run needs more. */
const MIN_LIKES = 2_000_000;
/** Generated datasets have about 1.22 frames per like (posts, reposts, deletes); 1.2 to be safe. */
const FRAMES_PER_LIKE = 1.2;
const LIKES_STEP = 100_000;
/** Start-up, readiness and the drain after the window, in seconds of replay to spare. */
const SPARE_S = 40;

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '2000,20000' },
    seconds: { type: 'string', default: '60' },
    replicas: { type: 'string', default: '1' },
    'poll-ms': { type: 'string', default: '1000' },
    'warmup-seconds': { type: 'string', default: '10' },
    'sample-ms': { type: 'string', default: '100' },
    seed: { type: 'string', default: '42' },
    keep: { type: 'boolean', default: false },
  },
});
const rates = values.rates.split(',').map((s) => Number(s.trim()));
const windowS = Number(values.seconds);
const replicas = Number(values.replicas);
const pollMs = Number(values['poll-ms']);
const warmupS = Number(values['warmup-seconds']);
const sampleMs = Number(values['sample-ms']);
const seed = Number(values.seed);
if (rates.length === 0 || rates.some((r) => !(r > 0))) throw new Error('--rates: positive events/s, comma-separated');
if (!(windowS > 0) || !(warmupS >= 0)) throw new Error('--seconds must be positive and --warmup-seconds not negative');
if (!Number.isSafeInteger(replicas) || replicas < 1) throw new Error('--replicas must be an integer >= 1');
if (!Number.isSafeInteger(pollMs) || pollMs < 50) throw new Error('--poll-ms must be an integer >= 50 (REPLICA_POLL_MS)');
if (!(sampleMs >= 10)) throw new Error('--sample-ms must be at least 10');
if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');

const session = startBenchSession('replica');
const { outDir } = session;

// One dataset long enough for the fastest rate; the replay server starts it afresh for each primary.
const framesNeeded = Math.max(...rates) * (warmupS + windowS + SPARE_S);
const likes = Math.max(MIN_LIKES, Math.ceil(framesNeeded / FRAMES_PER_LIKE / LIKES_STEP) * LIKES_STEP);
const dataset = await session.dataset(likes, seed);
const s3 = await startS3Server({ directory: path.join(outDir, 's3') });

const runs: RateRun[] = [];
for (const ratePerS of rates) {
  console.error(`rate ${ratePerS.toLocaleString('en-US')} events/s: primary + ${replicas} replica(s), poll ${pollMs} ms`);
  const run = await runRate({ s3, dataset, outDir, ratePerS, replicas, pollMs, warmupS, windowS, sampleMs });
  if (run.primaryEventsPerS < 0.9 * ratePerS) {
    console.error(`  the primary ingested only ${Math.round(run.primaryEventsPerS)} events/s over the window (asked ${ratePerS})`);
  }
  runs.push(run);
}
await s3.close();

const settings = { pollMs, sampleMs, warmupS, windowS, replicas };
session.finish({
  keep: values.keep,
  entries: ['s3', ...rates.flatMap((r) => [`rate-${r}-primary`, ...Array.from({ length: replicas }, (_, i) => `rate-${r}-replica-${i}`)])],
  printTable: () => printReplicaTable(runs, settings),
  figures: replicaFigures(runs, settings),
});
