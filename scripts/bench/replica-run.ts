/**
 * One rate of the replica benchmark: the primary (launcher, Litestream syncing every
 * second to the local S3 server) fed by the replay server at `ratePerS`, and `replicas`
 * read replicas following its bucket prefix. Once every replica is ready and a warm-up
 * has passed, a window of `windowS` seconds is measured: lag sampled all along, CPU and
 * the follower's counters at both ends.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { logFields } from '../../src/replication/litestream/run.js';
import type { S3Server } from '../../testkit/standins/s3-server.js';
import { ingestedEvents, waitForFirstEvent } from './ingest-phase.js';
import { commitLag, type CommitLag, maxLikeIdReader, percentiles, type Percentiles, type Sampler, sampleEvery, within } from './replica-lag.js';
import { counterDelta, type FollowerCounters, healthLagSeconds, readCounters, type ReplicaProcess, startReplica, waitUntilReady } from './replica-process.js';
import type { ReplicaBenchSettings } from './replica-report.js';
import { unlessExited } from './restore-children.js';
import { withReplay } from './restore-ingest.js';
import { startLauncher } from './restore-launcher.js';

const SYNC_INTERVAL = '1s';
const READY_TIMEOUT_MS = 120_000;
/** After the window, how long the replicas get to show the window's last commits. */
const DRAIN_MS = 10_000;

/** One rate's run: the benchmark's settings, and where it reads and writes. */
export interface RateRunOptions extends ReplicaBenchSettings {
  s3: S3Server;
  dataset: string;
  outDir: string;
  ratePerS: number;
}

export interface ReplicaFigures {
  heartbeatLag: Percentiles;
  commitLag: Percentiles & { undelivered: number };
  /** CPU seconds of the replica process over the window, per wall second. */
  cpuShare: number;
  /** Counter increases over the window. */
  follower: FollowerCounters;
  /** Samples that failed: health requests, reads of the replica's file mid-apply. */
  sampleErrors: { health: number; file: number };
}

export interface RateRun {
  ratePerS: number;
  windowS: number;
  /** What the primary ingested over the window. */
  primaryEventsPerS: number;
  /** WAL segments Litestream uploaded over the window, and their bytes before compression. */
  walSegments: number;
  walSegmentBytes: number;
  /** WAL indexes Litestream started (one after each checkpoint): each begins with an object of its own. */
  walIndexes: number;
  replicas: ReplicaFigures[];
  /** All replicas' samples pooled. */
  heartbeatLag: Percentiles;
  commitLag: Percentiles & { undelivered: number };
}

export async function runRate(options: RateRunOptions): Promise<RateRun> {
  const { s3, outDir, ratePerS } = options;
  const name = `rate-${ratePerS}`;
  mkdirSync(outDir, { recursive: true });
  return withReplay(options.dataset, ratePerS, async (jetstreamUrl) => {
    const primaryLog = path.join(outDir, `${name}-primary.log`);
    const primary = await startLauncher({
      dataDir: path.join(outDir, `${name}-primary`),
      jetstreamUrl,
      s3Env: s3.env(),
      prefix: name,
      logFile: primaryLog,
      syncInterval: SYNC_INTERVAL,
    });
    const replicas: ReplicaProcess[] = [];
    const samplers: Sampler[] = [];
    try {
      const running = <T>(work: Promise<T>) => unlessExited(primary.child, 'the primary', work);
      // 1. The primary takes its first events (its generation is in the bucket by then).
      await running(waitForFirstEvent(primary.metricsUrl));
      // 2. The replicas restore the generation and catch up.
      for (let i = 0; i < options.replicas; i += 1) {
        replicas.push(
          await startReplica({
            dataDir: path.join(outDir, `${name}-replica-${i}`),
            s3Env: s3.env(),
            prefix: name,
            pollMs: options.pollMs,
            logFile: path.join(outDir, `${name}-replica-${i}.log`),
          }),
        );
      }
      await running(Promise.all(replicas.map((replica) => waitUntilReady(replica, READY_TIMEOUT_MS))));
      console.error(`  ${replicas.length} replica(s) ready; warming up ${options.warmupS} s`);

      // 3. Sampling starts with the warm-up, so commits just before the window are known.
      const primaryIds = maxLikeIdReader(path.join(outDir, `${name}-primary`, 'feed.db'), false);
      const primarySampler = sampleEvery(options.sampleMs, () => primaryIds.read());
      const perReplica = replicas.map((replica) => {
        const fileIds = maxLikeIdReader(replica.dbPath, true);
        return { health: sampleEvery(options.sampleMs, () => healthLagSeconds(replica)), file: sampleEvery(options.sampleMs, () => fileIds.read()) };
      });
      samplers.push(primarySampler, ...perReplica.flatMap((s) => [s.health, s.file]));
      await running(sleep(options.warmupS * 1000));

      // 4. The window: counters at both ends, then the replicas get to show its last commits.
      const counters = async () => ({
        at: performance.now(),
        wallMs: Date.now(),
        events: await ingestedEvents(primary.metricsUrl),
        log: primary.counts(),
        replicas: await Promise.all(replicas.map(readCounters)),
      });
      const before = await counters();
      console.error(`  measuring ${options.windowS} s`);
      await running(sleep(options.windowS * 1000));
      const after = await counters();
      const windowS = (after.at - before.at) / 1000;
      await running(drain(primarySampler, perReplica.map((s) => s.file), after.at));
      await Promise.all(samplers.map((s) => s.stop()));
      primaryIds.close();

      const commits = perReplica.map((s) => commitLag(primarySampler.samples, s.file.samples, before.at, after.at));
      const figures = perReplica.map(({ health, file }, i): ReplicaFigures => {
        const follower = counterDelta(before.replicas[i]!, after.replicas[i]!);
        return {
          heartbeatLag: percentiles(within(health.samples, before.at, after.at)),
          commitLag: commitPercentiles([commits[i]!]),
          cpuShare: follower.cpuS / windowS,
          follower,
          sampleErrors: { health: health.errors(), file: file.errors() },
        };
      });
      return {
        ratePerS,
        windowS,
        primaryEventsPerS: (after.events - before.events) / windowS,
        walSegments: after.log.walSegments - before.log.walSegments,
        walSegmentBytes: after.log.walSegmentBytes - before.log.walSegmentBytes,
        walIndexes: walIndexesStarted(primaryLog, before.wallMs, after.wallMs),
        replicas: figures,
        heartbeatLag: percentiles(perReplica.flatMap((s) => within(s.health.samples, before.at, after.at))),
        commitLag: commitPercentiles(commits),
      };
    } finally {
      await Promise.all(samplers.map((s) => s.stop()));
      await Promise.all(replicas.map((replica) => replica.stop()));
      await primary.stop();
    }
  });
}

/** Commit lags of one or more replicas, pooled. */
function commitPercentiles(lags: CommitLag[]): Percentiles & { undelivered: number } {
  return { ...percentiles(lags.flatMap((l) => l.seconds)), undelivered: lags.reduce((n, l) => n + l.undelivered, 0) };
}

/** Waits (up to DRAIN_MS) until every replica file holds the primary's last id seen by `untilMs`. */
async function drain(primary: Sampler, files: Sampler[], untilMs: number): Promise<void> {
  const target = primary.samples.filter((s) => s.atMs <= untilMs).at(-1)?.value ?? 0;
  const deadline = performance.now() + DRAIN_MS;
  while (performance.now() < deadline && files.some((f) => (f.samples.at(-1)?.value ?? 0) < target)) await sleep(100);
}

/** WAL segments at offset 0 (a new index) that Litestream logged as written between two wall-clock times. */
function walIndexesStarted(logFile: string, fromMs: number, toMs: number): number {
  let count = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('msg="wal segment written"')) continue;
    const fields = logFields(line);
    const atMs = Date.parse(fields.time ?? '');
    if (atMs >= fromMs && atMs <= toMs && fields.position?.endsWith(':0')) count += 1;
  }
  return count;
}
