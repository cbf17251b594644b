/**
 * The data volume fills up under a primary ingesting in production shape (launcher →
 * Litestream → service, replicating to the S3 stand-in): the database, its WAL and
 * Litestream's shadow WAL all live on a small tmpfs, and a filler file takes the rest.
 * Ingest must pause with a clear error and metric while the process keeps serving, then
 * resume from its cursor once space returns, ending with exactly the stream's likes; and
 * Litestream must come through it with a bucket that restores to the same likes.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { waitFor } from '../../testkit/polling/wait-for.js';
import { startJetstreamReplay } from '../../testkit/standins/jetstream-server.js';
import { startPlcDirectory } from '../../testkit/standins/plc-directory.js';
import { startS3Server } from '../../testkit/standins/s3-server.js';
import { maxLikeId } from '../../testkit/processes/cluster.js';
import { FEED_URI, feedIdentityEnv, registerUser } from '../../testkit/processes/feed-service.js';
import { likesIn, restoreFrom } from '../../testkit/processes/primary.js';
import { shadowWalBytes } from '../../src/replication/litestream/shadow-wal.js';
import { type ChaosContext, type ChaosRow, type ChaosScenario, Checks } from './outcome.js';
import { megabytes } from './support/megabytes.js';
import { waitQuiet } from './support/poll-waits.js';
import { type StreamAndVolume, withStreamOnTmpfs } from './support/stream-on-tmpfs.js';
import { startWatchedPrimary } from './support/watched-primary.js';

const SIZES = {
  ci: { likes: 30_000, ratePerSec: 1500, fullS: 15, resumeTimeoutS: 60 },
  full: { likes: 120_000, ratePerSec: 2000, fullS: 60, resumeTimeoutS: 120 },
};
/** The data volume: room for the full size's ~40 MB database, its WAL and Litestream's shadow copy. */
const VOLUME_MB = 64;
/** Litestream checkpoints past this many pages (2 MB): a 64 MB volume holds the WAL and its shadow copy. */
const MIN_CHECKPOINT_PAGES = 500;

export const diskFull: ChaosScenario = {
  name: 'disk-full',
  summary: 'the data volume (a tmpfs, with Litestream\'s shadow WAL on it too) fills up under ingest, then space returns',
  inCi: true,
  async run(ctx) {
    const size = SIZES[ctx.size];
    return withStreamOnTmpfs(ctx, { seed: 82, likes: size.likes }, VOLUME_MB, (parts) => fillWhileIngesting(ctx, size, parts),
    );
  },
};

/** The primary on the volume, the fill, the checks. */
async function fillWhileIngesting(
  ctx: ChaosContext,
  size: (typeof SIZES)['ci'],
  { volume, streamFile, lines, expected }: StreamAndVolume,
): Promise<ChaosRow[]> {
  const checks = new Checks('disk-full');
  const dir = ctx.tempDir();
  const s3 = await startS3Server({ directory: path.join(dir, 's3') });
  const plc = await startPlcDirectory();
  const replay = await startJetstreamReplay({ file: streamFile, ratePerSec: size.ratePerSec });
  try {
    const dataDir = path.join(volume.dir, 'data');
    mkdirSync(dataDir);
    const env = {
      ...s3.env(),
      DATA_DIR: dataDir,
      JETSTREAM_URL: `${replay.url}/subscribe`,
      LITESTREAM_PATH: 'disk-full',
      LITESTREAM_MIN_CHECKPOINT_PAGES: String(MIN_CHECKPOINT_PAGES),
      // The disk guard off: this checks what is behind it, writes failing on a disk that
      // filled at once (outage-disk-guard checks the guard itself).
      DISK_GUARD_PERCENT: '100',
      ...feedIdentityEnv(plc),
      LOG_LEVEL: 'info',
    };
    const node = await startWatchedPrimary(env);
    const user = await registerUser(plc);
    const status = async (route: string, headers: Record<string, string> = {}) =>
      fetch(`${node.baseUrl}${route}`, { headers, signal: AbortSignal.timeout(10_000) }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        (err: unknown) => ({ status: 0, body: String(err) }),
      );
    const feedPath = `/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(FEED_URI)}&limit=10`;
    const serving = async () => {
      const health = await status('/xrpc/_health');
      const describe = await status('/xrpc/app.bsky.feed.describeFeedGenerator');
      const feed = await status(feedPath, { authorization: await user.bearer('app.bsky.feed.getFeedSkeleton') });
      const posts = feed.status === 200 ? ((JSON.parse(feed.body) as { feed: unknown[] }).feed.length) : 0;
      return { ok: health.status === 200 && describe.status === 200 && feed.status === 200 && posts > 0, health, describe, feed, posts };
    };

    try {
      // 1. Ingest under way and the feed served, before the disk fills.
      await node.ingestPast(size.likes / 4, 90_000);
      await waitFor(async () => ((await serving()).ok ? true : undefined), 30_000, 'the feed served').catch(() => undefined);

      // 2. The volume fills up.
      const fillerBytes = volume.fill();
      const filledAt = Date.now();
      ctx.log(`filler of ${megabytes(fillerBytes)} written: the volume is full`);
      const pausedAfterS = await waitFor(
        async () => ((await node.metric('feedgen_ingest_paused')) === 1 ? (Date.now() - filledAt) / 1000 : undefined),
        60_000,
        'ingest paused',
      ).catch(() => undefined);
      const errorsAtPause = (await node.metric('feedgen_ingest_write_errors_total')) ?? 0;
      const likesAtPause = maxLikeId(node.dbPath) ?? 0;

      // 3. Full for a while: the process stays up and serves.
      const servedWhileFull: boolean[] = [];
      let lastServing = await serving();
      const holdUntil = Date.now() + size.fullS * 1000;
      while (Date.now() < holdUntil) {
        lastServing = await serving();
        servedWhileFull.push(lastServing.ok);
        await sleep(1000);
      }
      const errorsWhileFull = (await node.metric('feedgen_ingest_write_errors_total')) ?? 0;
      const stillPaused = (await node.metric('feedgen_ingest_paused')) === 1;
      const likesWhileFull = maxLikeId(node.dbPath) ?? 0;
      const litestreamUp = await node.metric('feedgen_litestream_up');
      const syncErrors = await node.metric('feedgen_litestream_sync_errors', { kind: 'sync' });
      const output = node.primary.output().split('\n');
      const pauseLine = output.find((line) => line.includes('ingest write failed, paused'));
      const housekeeping = output.filter((line) => line.includes('writer housekeeping failed')).length;
      const fatal = output.filter((line) => line.includes('"level":60') || line.startsWith('fatal'));

      checks.check(
        'ingest pauses on the full disk: feedgen_ingest_paused = 1, write errors counted and growing',
        pausedAfterS !== undefined && stillPaused && errorsAtPause > 0 && errorsWhileFull > errorsAtPause,
        pausedAfterS === undefined
          ? 'never paused'
          : `paused ${pausedAfterS.toFixed(1)} s after the fill; write errors ${errorsAtPause} → ${errorsWhileFull} over ${size.fullS} s; newest like id ${likesAtPause} → ${likesWhileFull}`,
      );
      checks.check(
        'a clear log line names the cause ("ingest write failed, paused" with SQLITE_FULL)',
        pauseLine !== undefined && /SQLITE_FULL/.test(pauseLine),
        pauseLine === undefined ? 'no such line' : summarizeLogLine(pauseLine),
      );
      const served = servedWhileFull.filter(Boolean).length;
      checks.check(
        'the process stays up and serves while the disk is full (health, describeFeedGenerator, signed getFeedSkeleton)',
        node.primary.child.exitCode === null && fatal.length === 0 && served === servedWhileFull.length && served > 0,
        `${served}/${servedWhileFull.length} rounds all 200; last feed page ${lastServing.posts} posts; ${housekeeping} heartbeat/prune errors logged; ${fatal.length} fatal lines${fatal.length ? `: ${fatal[0]!.slice(0, 200)}` : ''}`,
      );

      // 4. Space returns: ingest resumes from its cursor and ends with exactly the stream's likes.
      volume.free();
      const freedAt = Date.now();
      ctx.log('filler removed');
      const resumedAfterS = await waitFor(
        async () => ((await node.metric('feedgen_ingest_paused')) === 0 ? (Date.now() - freedAt) / 1000 : undefined),
        size.resumeTimeoutS * 1000,
        'ingest resumed',
      ).catch(() => undefined);
      await waitFor(() => (replay.stats().framesSent >= lines ? true : undefined), size.resumeTimeoutS * 1000 * 3, 'the whole stream sent').catch(() => undefined);
      ctx.log('the whole stream sent');
      await waitQuiet(node.dbPath, 1500, 60_000);
      const stored = likesIn(node.dbPath);
      const storedSet = new Set(stored);
      const missing = expected.filter((like) => !storedSet.has(like)).length;
      const same = isDeepStrictEqual(stored, expected);
      checks.check(
        'space returns: ingest resumes by itself and ends with exactly the stream\'s likes',
        resumedAfterS !== undefined && same,
        `${resumedAfterS === undefined ? 'never resumed' : `resumed ${resumedAfterS.toFixed(1)} s after the filler went`}; ${stored.length} stored / ${expected.length} expected, ${missing} missing`,
      );

      // 5. Litestream: what the full disk did to it, and whether the bucket is whole again.
      ctx.log('ingest settled; waiting for the replica');
      const caughtUp = await waitFor(
        async () => ((await node.metric('feedgen_litestream_replica_stalled_seconds'))! < 2 ? true : undefined),
        90_000,
        'replica moving again',
      ).catch(() => false);
      await sleep(3000);
      const restored = await restoreFrom(env, path.join(dir, 'restored.db')).catch((err: unknown) => err as Error);
      const restoredLikes = restored instanceof Error ? [] : likesIn(restored.output);
      const restoreSame = isDeepStrictEqual(restoredLikes, stored);
      checks.check(
        'Litestream survives ENOSPC on its shadow WAL: it stays up, catches up, and the bucket restores to the same likes',
        litestreamUp === 1 && caughtUp === true && restoreSame,
        `${litestreamStory(node.primary.output().split('\n'), litestreamUp === 1, syncErrors)}; shadow WAL ${megabytes(shadowWalBytes(node.dbPath))} at the end; restore ${restored instanceof Error ? `failed: ${restored.message}` : `${restoredLikes.length} likes`}`,
      );
    } finally {
      node.primary.killAll();
      await node.primary.exited;
    }
  } finally {
    await replay.close();
    await plc.close();
    await s3.close();
  }
  return checks.rows;
}

/** "ingest write failed, paused: write batch: database or disk is full (SQLITE_FULL), retry in 100 ms" from the JSON line. */
function summarizeLogLine(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: { message?: string; code?: string }; retryInMs?: number };
    return `${entry.msg}: ${entry.err?.message} (${entry.err?.code}), retry in ${entry.retryInMs} ms`;
  } catch {
    return line.slice(0, 200);
  }
}

/** What Litestream did, from its log: its distinct errors, and whether it had to start a new generation. */
function litestreamStory(lines: string[], upWhileFull: boolean, syncErrors: number | undefined): string {
  const errors = new Map<string, number>();
  for (const line of lines) {
    if (!line.includes('level=ERROR')) continue;
    // The cause without paths and positions: "sync wal: cannot copy to shadow wal: ...: no space left on device".
    const error = /error="([^"]*)"/.exec(line)?.[1] ?? line;
    const key = error.replace(/\S*\/\S*/g, '…').slice(0, 160);
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }
  const generations = lines.filter((line) => line.includes('msg="sync: new generation"')).length;
  const listed = [...errors].map(([error, n]) => `${n}x "${error}"`).join(', ');
  return `Litestream up while full: ${upWhileFull ? 'yes' : 'no'}, ${syncErrors ?? '?'} sync errors counted (${listed || 'none logged'}), ${generations} generation(s) in all`;
}
