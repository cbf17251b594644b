/**
 * The object store goes down under a primary whose data volume (a small tmpfs) has little
 * room left: Litestream's shadow WAL grows with every event it cannot upload, until the
 * disk guard (DISK_GUARD_PERCENT) holds ingest. Nothing may reach ENOSPC: no write error,
 * no SQLITE_FULL, the volume never full. The primary keeps serving and says why it paused;
 * once the store is back the shadow WAL drains, ingest resumes by itself, and the database
 * and the bucket both end with exactly the stream's likes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { waitFor } from '../../testkit/polling/wait-for.js';
import { startJetstreamReplay } from '../../testkit/standins/jetstream-server.js';
import { startS3Server } from '../../testkit/standins/s3-server.js';
import { likesIn, restoreFrom } from '../../testkit/processes/primary.js';
import { volumeUsedShare } from '../../src/ingest/disk-guard.js';
import { readPrimarySignals } from '../../src/replication/follower/copy-checks.js';
import { shadowWalBytes } from '../../src/replication/litestream/shadow-wal.js';
import { type ChaosContext, type ChaosRow, type ChaosScenario, Checks } from './outcome.js';
import { megabytes } from './support/megabytes.js';
import { startPeakSampler } from './support/peak-sampler.js';
import { waitQuiet } from './support/poll-waits.js';
import { type StreamAndVolume, withStreamOnTmpfs } from './support/stream-on-tmpfs.js';
import { startWatchedPrimary } from './support/watched-primary.js';

const SIZES = {
  ci: { likes: 60_000, ratePerSec: 1500, pauseTimeoutS: 90, heldS: 10, resumeTimeoutS: 90 },
  full: { likes: 200_000, ratePerSec: 2000, pauseTimeoutS: 240, heldS: 60, resumeTimeoutS: 180 },
};
const VOLUME_MB = 64;
const GUARD_PERCENT = 80;
/** Room left under the guard when the outage starts: what the shadow WAL must fill before ingest pauses. */
const HEADROOM_MB = 8;

export const outageDiskGuard: ChaosScenario = {
  name: 'outage-disk-guard',
  summary: "the S3 store down long enough for Litestream's shadow WAL to reach the disk guard on a small volume, then back",
  inCi: true,
  async run(ctx) {
    const size = SIZES[ctx.size];
    ctx.log(`the guard at ${GUARD_PERCENT} % of a ${VOLUME_MB} MB volume`);
    return withStreamOnTmpfs(ctx, { seed: 83, likes: size.likes }, VOLUME_MB, (parts) => outageIntoGuard(ctx, size, parts),
    );
  },
};

async function outageIntoGuard(
  ctx: ChaosContext,
  size: (typeof SIZES)['ci'],
  { volume, streamFile, lines, expected }: StreamAndVolume,
): Promise<ChaosRow[]> {
  const checks = new Checks('outage-disk-guard');
  const dir = ctx.tempDir();
  const s3 = await startS3Server({ directory: path.join(dir, 's3') });
  const replay = await startJetstreamReplay({ file: streamFile, ratePerSec: size.ratePerSec });
  try {
    const dataDir = path.join(volume.dir, 'data');
    mkdirSync(dataDir);
    const env = {
      ...s3.env(),
      DATA_DIR: dataDir,
      JETSTREAM_URL: `${replay.url}/subscribe`,
      LITESTREAM_PATH: 'outage-disk-guard',
      LITESTREAM_MIN_CHECKPOINT_PAGES: '300',
      DISK_GUARD_PERCENT: String(GUARD_PERCENT),
    };
    const node = await startWatchedPrimary(env);
    const usedShare = () => volumeUsedShare(volume.dir);
    const sampler = startPeakSampler(async () => ({ used: await usedShare(), shadow: shadowWalBytes(node.dbPath) }), 200);
    const health = async () =>
      fetch(`${node.baseUrl}/xrpc/_health`, { signal: AbortSignal.timeout(5000) }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { ingest_paused: string | null } }),
        () => ({ status: 0, body: { ingest_paused: null } }),
      );
    try {
      // 1. Ingest under way and replicating; then a ballast leaves HEADROOM_MB under the guard.
      await node.ingestPast(size.likes / 10, 90_000);
      const ballastBytes = Math.max(0, Math.floor((GUARD_PERCENT / 100 - (await usedShare())) * VOLUME_MB * 2 ** 20) - HEADROOM_MB * 2 ** 20);
      writeFileSync(path.join(volume.dir, 'ballast'), Buffer.alloc(ballastBytes, 0x5a));
      ctx.log(`ballast of ${megabytes(ballastBytes)}: ${((await usedShare()) * 100).toFixed(0)} % used; S3 stopped`);

      // 2. The store goes down: the shadow WAL grows until the guard holds ingest.
      sampler.phase('outage');
      await s3.stop();
      const stoppedAt = Date.now();
      const pausedAfterS = await waitFor(
        async () => ((await health()).body.ingest_paused === 'disk_guard' ? (Date.now() - stoppedAt) / 1000 : undefined),
        size.pauseTimeoutS * 1000,
        'ingest held by the disk guard',
      ).catch(() => undefined);
      await sleep(size.heldS * 1000);
      const heldHealth = await health();
      const signals = readPrimarySignals(node.dbPath);
      const heartbeatAgeS = signals.heartbeatMs === undefined ? Infinity : (Date.now() - signals.heartbeatMs) / 1000;
      const pausedMetric = await node.metric('feedgen_ingest_paused');
      const writeErrors = await node.metric('feedgen_ingest_write_errors_total');
      const outage = sampler.peaks('outage');
      checks.check(
        `the shadow WAL grows into the guard (${GUARD_PERCENT} % of a ${VOLUME_MB} MB volume): ingest is held, with no write error and the volume never full`,
        pausedAfterS !== undefined && pausedMetric === 1 && writeErrors === 0 && (outage.used ?? 1) < 0.99,
        `${pausedAfterS === undefined ? 'never held' : `held ${pausedAfterS.toFixed(1)} s into the outage`}; volume peak ${((outage.used ?? NaN) * 100).toFixed(1)} % used, shadow WAL peak ${megabytes(outage.shadow ?? NaN)}; ${writeErrors} write errors`,
      );
      checks.check(
        'while held: health answers and says why (ingest_paused "disk_guard"), and the heartbeat and the reason still reach the database replicas copy',
        heldHealth.status === 200 && heldHealth.body.ingest_paused === 'disk_guard' && signals.ingestPaused === 'disk_guard' && heartbeatAgeS < 5,
        `health ${heldHealth.status} ingest_paused=${heldHealth.body.ingest_paused}; meta.ingest_paused=${signals.ingestPaused}; heartbeat ${heartbeatAgeS.toFixed(1)} s old`,
      );

      // 3. The store is back: the backlog uploads, the shadow WAL drains, ingest resumes by itself.
      sampler.phase('back');
      await s3.resume();
      const backAt = Date.now();
      const resumedAfterS = await waitFor(
        async () => ((await health()).body.ingest_paused === null ? (Date.now() - backAt) / 1000 : undefined),
        size.resumeTimeoutS * 1000,
        'ingest resumed',
      ).catch(() => undefined);
      await waitFor(() => (replay.stats().framesSent >= lines ? true : undefined), size.resumeTimeoutS * 3000, 'the whole stream sent').catch(() => undefined);
      await waitQuiet(node.dbPath, 1500, 60_000);
      const stored = likesIn(node.dbPath);
      const output = node.primary.output();
      const full = /SQLITE_FULL|ENOSPC|no space left/i.test(output);
      checks.check(
        'the store back: the shadow WAL drains, ingest resumes by itself, and ends with exactly the stream\'s likes; no ENOSPC anywhere in the logs',
        resumedAfterS !== undefined && isDeepStrictEqual(stored, expected) && !full,
        `${resumedAfterS === undefined ? 'never resumed' : `resumed ${resumedAfterS.toFixed(1)} s after the store came back`}; shadow WAL ${megabytes(shadowWalBytes(node.dbPath))} now; ${stored.length} stored / ${expected.length} expected; ENOSPC in logs: ${full ? 'yes' : 'no'}`,
      );

      // 4. The bucket holds them too.
      await waitFor(async () => ((await node.metric('feedgen_litestream_replica_stalled_seconds'))! < 2 ? true : undefined), 90_000, 'replica moving').catch(() => undefined);
      await sleep(3000);
      const restored = await restoreFrom(env, path.join(dir, 'restored.db')).catch((err: unknown) => err as Error);
      const restoredLikes = restored instanceof Error ? [] : likesIn(restored.output);
      checks.check(
        'a restore from the bucket afterwards holds exactly the same likes',
        isDeepStrictEqual(restoredLikes, stored),
        restored instanceof Error ? `restore failed: ${restored.message}` : `${restoredLikes.length} likes restored`,
      );
    } finally {
      await sampler.stop();
      node.primary.killAll();
      await node.primary.exited;
    }
  } finally {
    await replay.close();
    await s3.close();
  }
  return checks.rows;
}
