/**
 * Scale benchmark: the firehose's composition played as simulated days, time-compressed,
 * through the real path (replay server → the compiled launcher: Litestream replicating to
 * the local S3 stand-in, the service under it), and after each day:
 *   - what the window costs: likes held, database bytes a like, WAL bytes an event (in
 *     full-speed batches, and in the live batches of the day's last events replayed at
 *     the real stream's rate), the
 *     bucket's bytes (snapshots and WAL, compressed) and S3 requests, the like graph's
 *     bytes a like, the service's and Litestream's RSS;
 *   - what users see: getFeedSkeleton p50/p99 at 25 req/s (For You's peak) and 200 req/s;
 *   - what a restart costs: the primary restarted on its volume (start-up to ready), and a
 *     fresh replica restored from the bucket (restore and load to ready, its peak RSS).
 * Then each figure is fitted as a power of the likes held and projected to the real
 * stream's window of 7, 30 and 90 days (scale-model.ts).
 *
 *   npm run bench:scale [-- --days 3 --likes-per-day 2000000 --seed 42 --feed-seconds 20
 *                           --rates 25,200 --live-events 15000 --live-rate 480
 *                           --graph-memory-mb N --keep]
 *
 * Progress goes to stderr; the tables and one closing JSON line to stdout.
 */
import { rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Rng } from '../testkit/dataset/random.js';
import { startPlcDirectory } from '../testkit/standins/plc-directory.js';
import { startS3Server } from '../testkit/standins/s3-server.js';
import { waitHealthy } from '../testkit/processes/health.js';
import { freePort, peakRssMb, spawnTs, stopChild, waitForLine } from '../testkit/processes/processes.js';
import { startBenchSession } from './bench/bench-session.js';
import { drawUsersByActivity, runFeedLoad, signTokens } from './bench/feed-load.js';
import { ensureDataset, waitForIngestToSettle } from './bench/ingest-phase.js';
import { databaseBytes } from './bench/restore-ingest.js';
import { type Launcher, type LauncherOptions, snapshotNow, startLauncher } from './bench/restore-launcher.js';
import { startReplica, waitUntilReady } from './bench/replica-process.js';
import { track } from './bench/restore-children.js';
import { splitIntoDays } from './bench/scale-days.js';
import { bucketBytes, litestreamRssBytes, readServiceFigures, waitForGraphToFollow } from './bench/scale-sample.js';
import { type DaySample, printDays, printProjection, scaleFigures } from './bench/scale-report.js';

const PUBLISHER = 'did:plc:benchpublisherxxxxxxxxxx';
const SERVICE_DID = 'did:web:feed.bench.local';
const FEED_URI = `at://${PUBLISHER}/app.bsky.feed.generator/for-you`;
const PREFIX = 'scale';
const USER_DRAWS = 2000;
const WARMUP_S = 5;
/** Bounds, so a stuck process ends the run instead of hanging it. */
const READY_TIMEOUT_MS = 30 * 60_000;
const GRAPH_TIMEOUT_MS = 10 * 60_000;
/** Litestream syncs every second: this long after the last event, its WAL is uploaded. */
const LITESTREAM_SETTLE_MS = 3000;

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '3' },
    'likes-per-day': { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '42' },
    'feed-seconds': { type: 'string', default: '20' },
    rates: { type: 'string', default: '25,200' },
    'live-events': { type: 'string', default: '15000' },
    'live-rate': { type: 'string', default: '480' },
    'graph-memory-mb': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const days = Number(values.days);
const likesPerDay = Number(values['likes-per-day']);
const seed = Number(values.seed);
const feedSeconds = Number(values['feed-seconds']);
const rates = values.rates.split(',').map(Number);
const liveEvents = Number(values['live-events']);
const liveRate = Number(values['live-rate']);
if (!Number.isSafeInteger(days) || days < 2 || days > 60) throw new Error('--days: an integer from 2 to 60 (two points at least for the growth model)');
if (!Number.isSafeInteger(likesPerDay) || likesPerDay < 10_000) throw new Error('--likes-per-day: an integer of at least 10000');
if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');
if (!(feedSeconds > 0) || rates.some((r) => !(r > 0))) throw new Error('--feed-seconds and --rates must be positive');
if (!Number.isSafeInteger(liveEvents) || liveEvents < 100 || liveEvents * 10 > likesPerDay) throw new Error('--live-events: an integer from 100 to a tenth of --likes-per-day');
if (!(liveRate > 0)) throw new Error('--live-rate must be positive');
const graphMemoryMb = values['graph-memory-mb'];
if (graphMemoryMb !== undefined && !(Number(graphMemoryMb) >= 16)) throw new Error('--graph-memory-mb: at least 16');

const session = startBenchSession('scale');
const { outDir } = session;
const s3 = await startS3Server({ directory: path.join(outDir, 's3') });
const plc = await startPlcDirectory();

// 1. The stream, cut into days. Like times end at the hour, so a rerun within it reuses the file.
const endTimeUs = Math.floor(Date.now() / 3_600_000) * 3_600_000_000;
const dataset = await ensureDataset({ name: `scale-${days}d-${likesPerDay}-seed${seed}-${endTimeUs}`, seed, likes: days * likesPerDay, days, endTimeUs });
const dayDir = path.join(outDir, 'days');
mkdirSync(dayDir, { recursive: true });
console.error(`cutting ${path.basename(dataset)} into ${days} days...`);
const dayFiles = await splitIntoDays(dataset, days, endTimeUs, dayDir, liveEvents);

// 2. The primary, whose Jetstream is a replay server on a fixed port: one server a day.
const jetstreamPort = await freePort();
const primaryOptions: Omit<LauncherOptions, 'jetstreamUrl'> = {
  dataDir: path.join(outDir, 'primary'),
  s3Env: s3.env(),
  prefix: PREFIX,
  logFile: path.join(outDir, 'primary-day-1.log'),
  env: {
    PLC_URL: plc.url,
    FEEDGEN_SERVICE_DID: SERVICE_DID,
    FEEDGEN_PUBLISHER_DID: PUBLISHER,
    JETSTREAM_RECONNECT_MIN_MS: '100',
    JETSTREAM_RECONNECT_MAX_MS: '1000',
    ...(graphMemoryMb ? { GRAPH_MEMORY_MB: graphMemoryMb } : {}),
  },
};
const startPrimary = (day: number) =>
  startLauncher({ ...primaryOptions, logFile: path.join(outDir, `primary-day-${day}.log`), jetstreamUrl: `ws://127.0.0.1:${jetstreamPort}/subscribe` });
const baseOf = (launcher: Launcher) => launcher.metricsUrl.replace(/\/metrics$/, '');
const dbPath = path.join(primaryOptions.dataDir, 'feed.db');

const runStarted = Date.now();
let primary = await startPrimary(1);
const samples: DaySample[] = [];
for (let day = 1; day <= days; day++) samples.push(await playDay(day));
await primary.stop();

// 3. A snapshot of the final database, for what each snapshot adds to the bucket.
console.error('having Litestream snapshot the final database...');
const snapshotBytes = await snapshotNow({ ...primaryOptions, logFile: path.join(outDir, 'primary-snapshot.log') }, (Date.now() - runStarted) / 1000);
await plc.close();
await s3.close();

const last = samples.at(-1)!;
const figures = scaleFigures(samples, { likesPerDay, eventsPerLike: last.eventsTotal / last.likesSent, snapshotBytes });
session.finish({
  keep: values.keep,
  entries: ['s3', 'primary', 'days', 'replica', dataset],
  printTable: () => {
    printDays(samples, { likesPerDay, rates });
    printProjection(samples, figures);
  },
  figures,
});

async function playDay(day: number): Promise<DaySample> {
  const dayFile = dayFiles[day - 1]!;
  console.error(`day ${day}: ${dayFile.lines.toLocaleString()} events (${dayFile.likeCreates.toLocaleString()} likes)`);
  const requestsBefore = s3.requests();

  // Ingest the day at full speed, its last events at the real rate, then let the graph catch up.
  const ingest = await replayFile(dayFile.bulk, 0);
  await sleep(LITESTREAM_SETTLE_MS);
  const walBeforeLive = primary.counts().walSegmentBytes;
  const eventsBeforeLive = (await readServiceFigures(primary.metricsUrl)).events;
  console.error(`day ${day}: the last ${dayFile.liveLines.toLocaleString()} events at ${liveRate}/s`);
  await replayFile(dayFile.live, liveRate);
  await sleep(LITESTREAM_SETTLE_MS);
  const liveWalBytes = primary.counts().walSegmentBytes - walBeforeLive;
  const liveEventCount = (await readServiceFigures(primary.metricsUrl)).events - eventsBeforeLive;
  const service = await waitForGraphToFollow(primary.metricsUrl, GRAPH_TIMEOUT_MS);
  const dbBytes = databaseBytes(dbPath);
  const litestreamRss = litestreamRssBytes(primary.child.pid!);

  // Feed requests from users drawn by activity, at each rate.
  const rng = new Rng(seed + day);
  const tokens = await signTokens(drawUsersByActivity(dbPath, USER_DRAWS, () => rng.float()), plc, SERVICE_DID);
  await runFeedLoad(baseOf(primary), FEED_URI, tokens, { ratePerS: rates[0]!, seconds: WARMUP_S, connections: 4 });
  const feed = [];
  for (const rate of rates) {
    console.error(`day ${day}: ${rate} req/s for ${feedSeconds} s`);
    feed.push({ rate, ...(await runFeedLoad(baseOf(primary), FEED_URI, tokens, { ratePerS: rate, seconds: feedSeconds, connections: Math.max(4, Math.ceil(rate / 25)) })) });
  }

  // A restart on the same volume: Litestream's final sync, then start-up to ready.
  await primary.stop();
  const wal = primary.counts();
  const bucket = bucketBytes(s3.directory, s3.bucket, PREFIX);
  const requests = s3.requests();
  const restartAt = Date.now();
  primary = await startPrimary(day + 1);
  await waitHealthy(baseOf(primary), READY_TIMEOUT_MS, `day ${day}: the restarted primary ready`, { child: primary.child });
  const startupS = (Date.now() - restartAt) / 1000;

  // A replica from nothing: restore from the bucket, load, ready.
  const replicaDir = path.join(outDir, 'replica');
  rmSync(replicaDir, { recursive: true, force: true });
  const restoreAt = Date.now();
  const replica = await startReplica({ dataDir: replicaDir, s3Env: s3.env(), prefix: PREFIX, pollMs: 1000, logFile: path.join(outDir, `replica-day-${day}.log`) });
  await waitUntilReady(replica, READY_TIMEOUT_MS);
  const restoreS = (Date.now() - restoreAt) / 1000;
  const replicaPeakRssMb = peakRssMb(replica.pid);
  await replica.stop();

  const sample: DaySample = {
    day,
    likesSent: samples.reduce((n, s) => n + s.likesSentToday, 0) + dayFile.likeCreates,
    likesSentToday: dayFile.likeCreates,
    eventsTotal: samples.reduce((n, s) => n + s.eventsToday, 0) + service.events,
    // The service restarted at the end of the day before: its counter is this day's.
    eventsToday: service.events,
    ingestEventsPerS: ingest.events / Math.max(ingest.seconds, 0.001),
    liveWalBytesPerEvent: liveWalBytes / Math.max(liveEventCount, 1),
    likes: service.likes,
    graphLikes: service.graphLikes,
    graphBytes: service.graphBytes,
    dbBytes,
    walBytesToday: wal.walSegmentBytes,
    walSegmentsToday: wal.walSegments,
    bucket,
    requestsToday: { PUT: requests.PUT - requestsBefore.PUT, GET: requests.GET - requestsBefore.GET, LIST: requests.LIST - requestsBefore.LIST },
    serviceRssBytes: service.rssBytes,
    litestreamRssBytes: litestreamRss,
    prunedRows: service.prunedRows,
    feed,
    startupS,
    restoreS,
    replicaPeakRssMb,
  };
  console.error(`day ${day}: ${service.likes.toLocaleString()} likes held; start-up ${startupS.toFixed(1)} s, replica ready ${restoreS.toFixed(1)} s`);
  // Each day's figures as they come, so a run cut short still leaves them.
  console.error(`day ${day} sample: ${JSON.stringify(sample)}`);
  return sample;
}

/** Replays `file` to the primary (`ratePerS` events/s, 0 for full speed) until its ingest settles. */
async function replayFile(file: string, ratePerS: number) {
  const replay = track(spawnTs('scripts/jetstream-replay.ts', ['--file', file, '--port', String(jetstreamPort), '--at-end', 'idle', '--rate', String(ratePerS)]));
  try {
    await waitForLine(replay, /listening on (\S+)/);
    return await waitForIngestToSettle(primary.metricsUrl, 3000);
  } finally {
    await stopChild(replay);
  }
}
