/**
 * The object store goes away under a primary ingesting at a steady rate: first stopped
 * (connections refused), then up but answering 500/503 to every request. Ingest must go
 * on, the WAL on disk must stay bounded and be reported, replication must catch up once
 * the store is back, and a restore from the bucket must hold exactly the primary's likes.
 *
 * Two WALs grow during an outage: the database's own (`feed.db-wal`), which Litestream
 * checkpoints whether or not uploads work, so it stays under its max-checkpoint bound; and
 * Litestream's shadow WAL (`.feed.db-litestream`), which keeps every segment not yet
 * uploaded: it grows with the outage and drains once uploads succeed again.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { writeDatasetFile } from '../../testkit/dataset/file.js';
import { metricValue } from '../../testkit/metrics/prometheus.js';
import { waitFor } from '../../testkit/polling/wait-for.js';
import { startJetstreamReplay } from '../../testkit/standins/jetstream-server.js';
import { startS3Server } from '../../testkit/standins/s3-server.js';
import { maxLikeId } from '../../testkit/processes/cluster.js';
import { likesIn, restoreFrom } from '../../testkit/processes/primary.js';
import { shadowWalBytes } from '../../src/replication/litestream/shadow-wal.js';
import { type ChaosScenario, Checks } from './outcome.js';
import { megabytes } from './support/megabytes.js';
import { startPeakSampler } from './support/peak-sampler.js';
import { waitQuiet } from './support/poll-waits.js';
import { startWatchedPrimary } from './support/watched-primary.js';
import { NEW_DATABASE_PAGE_BYTES } from '../../src/store/database.js';

const SIZES = {
  // Litestream checkpoints past 300 or 2,000 pages here (8,000 in production): the bound
  // must sit well below what each phase of the outage writes (a few hundred bytes an event
  // at 1 KiB pages), or it proves nothing.
  ci: { ratePerSec: 1000, baselineS: 8, stoppedS: 20, errorsS: 15, afterS: 10, minCheckpointPages: 300, catchUpTimeoutS: 150 },
  full: { ratePerSec: 2000, baselineS: 15, stoppedS: 120, errorsS: 60, afterS: 20, minCheckpointPages: 2000, catchUpTimeoutS: 600 },
};
/** The scenario's database is new, so it has the pages a new database gets. */
const PAGE_BYTES = NEW_DATABASE_PAGE_BYTES;
/** Litestream restarts the WAL past 3x the minimum (src/replication/litestream/settings.ts); half as much again of slack (a slow sync on a loaded machine). */
const WAL_BOUND_FACTOR = 3 * 1.5;
/** Stalled seconds under this: the replica position moves again (the heartbeat changes the WAL every second). */
const CAUGHT_UP_STALLED_S = 3;
/** Generated streams have ~1.22 lines (posts, reposts, deletes...; the service reads all but the reposts) per like. */
const LINES_PER_LIKE = 1.22;

export const s3Outage: ChaosScenario = {
  name: 's3-outage',
  summary: 'the S3 store stops, then answers 500/503, under a primary ingesting at a steady rate',
  inCi: true,
  async run(ctx) {
    const size = SIZES[ctx.size];
    const checks = new Checks('s3-outage');
    const dir = ctx.tempDir();

    // 1. A stream long enough to run through every phase, from disk.
    const streamS = 30 + size.baselineS + size.stoppedS + size.errorsS + size.afterS;
    const likes = Math.ceil((size.ratePerSec * streamS) / LINES_PER_LIKE);
    const streamFile = path.join(dir, 'stream.jsonl');
    await writeDatasetFile(streamFile, { seed: 81, likes, malformedShare: 0 });
    ctx.log(`${likes} likes at ${size.ratePerSec} lines/s; starting S3, the replay and the primary`);

    const s3 = await startS3Server({ directory: path.join(dir, 's3') });
    const replay = await startJetstreamReplay({ file: streamFile, ratePerSec: size.ratePerSec });
    try {
      const env = {
        ...s3.env(),
        DATA_DIR: path.join(dir, 'data'),
        JETSTREAM_URL: `${replay.url}/subscribe`,
        LITESTREAM_PATH: 's3-outage',
        LITESTREAM_MIN_CHECKPOINT_PAGES: String(size.minCheckpointPages),
      };
      const node = await startWatchedPrimary(env);
      const walBoundBytes = size.minCheckpointPages * PAGE_BYTES * WAL_BOUND_FACTOR;

      // What Litestream has written to its shadow WAL in all: the volume an outage must hold.
      const walWritten = async () => {
        const text = await node.litestreamMetrics();
        return text === undefined ? undefined : metricValue(text, 'litestream_total_wal_bytes', { db: node.dbPath });
      };
      const sampler = startPeakSampler(async () => {
        const text = await node.metrics();
        if (text === undefined) return undefined;
        return {
          walBytes: metricValue(text, 'feedgen_wal_bytes'),
          stalledS: metricValue(text, 'feedgen_litestream_replica_stalled_seconds'),
          shadowBytes: shadowWalBytes(node.dbPath),
          shadowReported: metricValue(text, 'feedgen_litestream_shadow_wal_bytes'),
        };
      }, 500);

      try {
        await node.ingestPast(size.ratePerSec * 2, 60_000);
        await waitFor(
          async () => ((await node.metric('feedgen_litestream_up')) === 1 && (await node.metric('feedgen_litestream_replica_stalled_seconds'))! < CAUGHT_UP_STALLED_S ? true : undefined),
          30_000,
          'Litestream replicating',
        );

        /** Runs one phase: likes stored, WAL written and the peaks while it lasts. */
        const phase = async (name: string, seconds: number) => {
          sampler.phase(name);
          const likesBefore = maxLikeId(node.dbPath) ?? 0;
          const walBefore = (await walWritten()) ?? 0;
          const started = Date.now();
          await sleep(seconds * 1000);
          const elapsedS = (Date.now() - started) / 1000;
          const stored = (maxLikeId(node.dbPath) ?? 0) - likesBefore;
          const walWrittenBytes = ((await walWritten()) ?? walBefore) - walBefore;
          const stalledS = (await node.metric('feedgen_litestream_replica_stalled_seconds')) ?? 0;
          return { name, stored, perSecond: stored / elapsedS, walWrittenBytes, stalledS, peaks: sampler.peaks(name) };
        };

        // 2. A clean stretch first: the rate and the WAL sizes to compare the outage with.
        ctx.log(`baseline ${size.baselineS} s`);
        const baseline = await phase('baseline', size.baselineS);

        ctx.log(`S3 stopped for ${size.stoppedS} s`);
        await s3.stop();
        const stopped = await phase('stopped', size.stoppedS);
        // Errors from the first request it answers on coming back.
        s3.answerErrors();
        const before = s3.requests();
        await s3.resume();
        ctx.log(`S3 answering 500/503 for ${size.errorsS} s`);
        const errors = await phase('errors', size.errorsS);
        const after = s3.requests();
        const errorAnswers = Object.values(after).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
        s3.answerNormally();
        const backAt = Date.now();
        sampler.phase('catch-up');

        for (const fault of [stopped, errors]) {
          const what = fault.name === 'stopped' ? 'S3 stopped' : `S3 answering errors (${errorAnswers} requests answered 500/503)`;
          checks.check(
            `${what}: ingest goes on (at least half the baseline rate)`,
            fault.perSecond >= baseline.perSecond / 2,
            `${fault.stored} likes in ${fault.name === 'stopped' ? size.stoppedS : size.errorsS} s: ${fault.perSecond.toFixed(0)}/s (baseline ${baseline.perSecond.toFixed(0)}/s)`,
          );
          checks.check(
            `${what}: the database WAL stays under Litestream's checkpoint bound while more than that is written`,
            (fault.peaks.walBytes ?? Infinity) <= walBoundBytes && fault.walWrittenBytes > walBoundBytes,
            `feedgen_wal_bytes peak ${megabytes(fault.peaks.walBytes ?? NaN)} (baseline ${megabytes(baseline.peaks.walBytes ?? NaN)}), bound ${megabytes(walBoundBytes)}, WAL written ${megabytes(fault.walWrittenBytes)}; shadow WAL peak ${megabytes(fault.peaks.shadowBytes ?? NaN)} (baseline ${megabytes(baseline.peaks.shadowBytes ?? NaN)})`,
          );
        }
        const phaseS = size.stoppedS + size.errorsS;
        const reportedPeak = Math.max(stopped.peaks.shadowReported ?? 0, errors.peaks.shadowReported ?? 0);
        const outageWritten = stopped.walWrittenBytes + errors.walWrittenBytes;
        checks.check(
          "the WAL backlog is reported: feedgen_litestream_shadow_wal_bytes holds at least half of what the outage wrote",
          reportedPeak >= outageWritten / 2 && reportedPeak > 2 * (baseline.peaks.shadowReported ?? Infinity),
          `peak ${megabytes(reportedPeak)} (baseline ${megabytes(baseline.peaks.shadowReported ?? NaN)}) for ${megabytes(outageWritten)} written in ${phaseS} s: ${megabytes((outageWritten / phaseS) * 60)} a minute of outage`,
        );
        checks.check(
          'the outage is reported: feedgen_litestream_replica_stalled_seconds covers it',
          errors.stalledS >= phaseS - 5 && baseline.peaks.stalledS! < CAUGHT_UP_STALLED_S,
          `${errors.stalledS.toFixed(0)} s at the end of a ${phaseS} s outage (baseline peak ${baseline.peaks.stalledS?.toFixed(1)} s)`,
        );

        // 3. The store is back: the backlog uploads while ingest goes on.
        const caughtUpS = await waitFor(
          async () => ((await node.metric('feedgen_litestream_replica_stalled_seconds'))! < CAUGHT_UP_STALLED_S ? (Date.now() - backAt) / 1000 : undefined),
          size.catchUpTimeoutS * 1000,
          'replica moving again',
        ).catch(() => undefined);
        const backlogBytes = Math.max(stopped.peaks.shadowBytes ?? 0, errors.peaks.shadowBytes ?? 0);
        checks.check(
          'replication catches up once S3 answers again',
          caughtUpS !== undefined,
          caughtUpS === undefined ? `still stalled after ${size.catchUpTimeoutS} s` : `stalled < ${CAUGHT_UP_STALLED_S} s again ${caughtUpS.toFixed(1)} s after S3 came back (shadow WAL backlog ${megabytes(backlogBytes)})`,
        );

        ctx.log(`ingest for ${size.afterS} s more, then the stream closes`);
        await sleep(size.afterS * 1000);
        const shadowAfter = shadowWalBytes(node.dbPath);
        await replay.close();
        await waitQuiet(node.dbPath, 1500, 60_000);
        const settledId = maxLikeId(node.dbPath) ?? 0;
        const settledAt = Date.now();
        checks.check(
          "Litestream's shadow WAL drains after the catch-up",
          shadowAfter < backlogBytes / 2,
          `${megabytes(shadowAfter)} ${size.afterS} s after the catch-up, from a ${megabytes(backlogBytes)} peak`,
        );

        // 4. The bucket alone, restored while the primary still runs, holds every like.
        await waitFor(
          async () => (Date.now() - settledAt > 5000 && (await node.metric('feedgen_litestream_replica_stalled_seconds'))! < 2 ? true : undefined),
          60_000,
          'replica past the last like',
        ).catch(() => undefined);
        const primaryLikes = likesIn(node.dbPath);
        const restoreStarted = Date.now();
        const restored = await restoreFrom(env, path.join(dir, 'restored.db'));
        const restoredLikes = likesIn(restored.output);
        checks.check(
          "a restore from the bucket afterwards equals the primary's likes exactly",
          isDeepStrictEqual(restoredLikes, primaryLikes) && primaryLikes.length > 0,
          `${restoredLikes.length} restored / ${primaryLikes.length} on the primary (newest like id ${settledId}), restore ${((Date.now() - restoreStarted) / 1000).toFixed(1)} s`,
        );

        node.primary.child.kill('SIGTERM');
        const code = await Promise.race([node.primary.exited, sleep(45_000).then(() => 'timeout' as const)]);
        const errorLines = node.primary.output().split('\n').filter((line) => /level=ERROR|"level":(50|60)|fatal/.test(line));
        checks.check('the primary stops cleanly afterwards (final sync, exit 0)', code === 0, `exit ${code}${code === 0 ? '' : `; last errors: ${errorLines.slice(-2).join(' / ').slice(0, 600)}`}`);
      } finally {
        await sampler.stop();
        node.primary.killAll();
      }
    } finally {
      await replay.close().catch(() => undefined);
      await s3.close();
    }
    return checks.rows;
  },
};
