/**
 * A replica following a real primary (launcher → Litestream → service) through a real
 * S3-compatible server: the follower alone, then the whole service in the replica role.
 */
import path from 'node:path';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { readLitestreamSettings } from '../src/replication/litestream/settings.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { Follower } from '../src/replication/follower/follower.js';
import { ReplicaLayout } from '../src/replication/bucket/layout.js';
import { objectStoreFor } from '../src/replication/bucket/object-store.js';
import { likeIds, likeLines, likesIn, primarySuite, startPrimary } from '../testkit/processes/primary.js';
import { metricValue, startTestService, testConfig, waitFor } from '../testkit/processes/service.js';
import { withReader } from '../src/store/database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function followerFor(env: Record<string, string>, dbPath: string) {
  const settings = readLitestreamSettings({ ...process.env, ...env }, env.DATA_DIR!);
  const { store, root } = objectStoreFor(settings);
  const follower = new Follower({
    store,
    layout: new ReplicaLayout(root),
    dbPath,
    log: createLogger('silent'),
    metrics: createMetrics(),
    pollMs: 200,
    stallMs: 2000,
    minCheckpointPages: settings.minCheckpointPages,
  });
  return { follower, store };
}

function integrity(dbPath: string): string {
  return withReader(dbPath, (db) => db.pragma('integrity_check', { simple: true }) as string);
}

describe('replica follower', () => {
  const suite = primarySuite();

  it('follows a primary during ingest, resumes after a restart, and follows it into a new generation', async () => {
    const { replay, env, dbPath: primaryDb } = await suite.stream(likeLines(30_000, 21), 3000);
    const replicaDb = path.join(suite.tempDir(), 'feed.db');

    let primary = startPrimary(env);
    await waitFor(() => (likeIds(primaryDb).length > 3000 ? true : undefined), 30_000, 'primary ingesting');
    await sleep(1500); // a first upload
    let { follower } = followerFor(env, replicaDb);
    await follower.bootstrap();
    follower.start();
    // Under way: the copy trails by about a sync interval, never by much more.
    await waitFor(() => (likeIds(replicaDb).length > 6000 ? true : undefined), 30_000, 'replica following');
    await waitFor(() => (follower.caughtUp() ? true : undefined), 10_000, 'first time caught up');
    expect(follower.lagSeconds()!).toBeLessThan(5);
    follower.stop();

    // A restart of the replica resumes where it was: no listing, no snapshot download.
    const resumed = followerFor(env, replicaDb);
    follower = resumed.follower;
    await follower.bootstrap();
    expect(resumed.store.requests.LIST).toBe(0);
    follower.start();

    expect(await (primary.child.kill('SIGTERM'), primary.exited)).toBe(0);
    const firstGeneration = follower.position!.generation;
    await waitFor(() => (likeIds(replicaDb).length === likeIds(primaryDb).length ? true : undefined), 20_000, 'replica caught up');
    expect(likesIn(replicaDb)).toEqual(likesIn(primaryDb));

    // The primary's volume is lost: it restores from the bucket and starts a new generation.
    rmSync(env.DATA_DIR!, { recursive: true, force: true });
    const before = likeIds(replicaDb).length;
    primary = startPrimary(env);
    await waitFor(() => (likeIds(primaryDb).length > before + 3000 ? true : undefined), 60_000, 'primary ingesting again');
    expect(await (primary.child.kill('SIGTERM'), primary.exited)).toBe(0);
    await replay.close();
    await waitFor(
      () => (follower.position!.generation !== firstGeneration && likeIds(replicaDb).length === likeIds(primaryDb).length ? true : undefined),
      30_000,
      'replica on the new generation',
    );
    follower.stop();
    expect(likesIn(replicaDb)).toEqual(likesIn(primaryDb));
    expect(integrity(replicaDb)).toBe('ok');
  }, 150_000);

  it('serves the feed in the replica role once caught up, without Jetstream or a writer', async () => {
    const { replay, env, dbPath: primaryDb } = await suite.stream(likeLines(8000, 22), 4000);
    const primary = startPrimary(env);

    // The replica starts before anything is in the bucket: it waits, then restores.
    const replicaEnv = { ...suite.s3().env(), LITESTREAM_PATH: env.LITESTREAM_PATH!, ROLE: 'replica', REPLICA_POLL_MS: '200', JETSTREAM_URL: 'ws://127.0.0.1:9/never' };
    const replica = await startTestService(testConfig(replicaEnv));
    try {
      await waitFor(async () => {
        const health = (await fetch(`${replica.baseUrl}/xrpc/_health`).then((r) => r.json())) as { ready: boolean };
        return health.ready ? true : undefined;
      }, 60_000, 'replica ready');
      await waitFor(() => (likeIds(primaryDb).length >= 7000 ? true : undefined), 30_000, 'primary stored the stream');
      expect(await (primary.child.kill('SIGTERM'), primary.exited)).toBe(0);
      const replicaDb = path.join(replica.service.ctx.config.dataDir, 'feed.db');
      await waitFor(() => (likeIds(replicaDb).length === likeIds(primaryDb).length ? true : undefined), 20_000, 'replica caught up');
      expect(likesIn(replicaDb)).toEqual(likesIn(primaryDb));
      // The like graph tails the followed file as it does on the primary: every live like.
      const live = likesIn(primaryDb).length;
      await waitFor(async () => {
        const text = await fetch(`${replica.baseUrl}/metrics`).then((r) => r.text());
        return metricValue(text, 'feedgen_graph_likes') === live ? true : undefined;
      }, 20_000, "the replica's like graph has every live like");
      const feed = await fetch(`${replica.baseUrl}/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(`at://${replica.service.ctx.config.feedgen.publisherDid}/app.bsky.feed.generator/for-you`)}&limit=10`);
      expect(feed.status).toBe(200);
      expect(((await feed.json()) as { feed: unknown[] }).feed.length).toBeGreaterThan(0);
      const metrics = await fetch(`${replica.baseUrl}/metrics`).then((r) => r.text());
      expect(metricValue(metrics, 'feedgen_jetstream_connections_total')).toBe(0);
      expect(metricValue(metrics, 'feedgen_replica_lag_seconds')).toBeGreaterThanOrEqual(0);
    } finally {
      await replica.stop();
      await replay.close();
    }
  }, 120_000);
});

describe('replica follower across a retention gap', () => {
  it('restores afresh when the segments it needs were deleted, and ends equal to the primary', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'feedgen-gap-'));
    const replay = await startJetstreamReplay({ lines: likeLines(80_000, 23), ratePerSec: 3000 });
    // A file replica (no bucket), a snapshot every 2 s: retention can drop old WAL quickly.
    const env = { DATA_DIR: dataDir, JETSTREAM_URL: `${replay.url}/subscribe`, BUCKET_NAME: '', LITESTREAM_SNAPSHOT_INTERVAL: '2s', LITESTREAM_MIN_CHECKPOINT_PAGES: '500' };
    const primaryDb = path.join(dataDir, 'feed.db');
    const replicaDb = path.join(dataDir, 'replica', 'feed.db');
    try {
      const primary = startPrimary(env);
      await waitFor(() => (likeIds(primaryDb).length > 3000 ? true : undefined), 30_000, 'primary ingesting');
      await sleep(1500);
      let { follower } = followerFor(env, replicaDb);
      await follower.bootstrap();
      follower.start();
      await waitFor(() => (follower.caughtUp() ? true : undefined), 20_000, 'caught up');
      follower.stop();
      const left = follower.position!;

      // While the replica is away, the primary moves on, and retention deletes every WAL
      // segment older than the newest snapshot: the replica's next segments among them.
      // Waited for, not slept: on a slow machine the checkpoints that advance the index come later.
      const generationDir = path.join(dataDir, 'litestream-replica', 'generations', left.generation);
      const newestSnapshot = () => Math.max(...readdirSync(path.join(generationDir, 'snapshots')).map((f) => parseInt(f.slice(0, 8), 16)));
      const newest = await waitFor(() => (newestSnapshot() > left.index + 1 ? newestSnapshot() : undefined), 40_000, 'a snapshot past the next segment');
      for (const file of readdirSync(path.join(generationDir, 'wal'))) {
        if (parseInt(file.slice(0, 8), 16) < newest) rmSync(path.join(generationDir, 'wal', file));
      }

      ({ follower } = followerFor(env, replicaDb));
      await follower.bootstrap(); // resumes at its old position, which is gone
      expect(follower.position).toEqual(left);
      follower.start();
      await waitFor(() => (follower.position!.index >= newest ? true : undefined), 30_000, 'restored past the gap');
      primary.child.kill('SIGTERM');
      expect(await primary.exited, primary.output().slice(-3000)).toBe(0);
      await waitFor(() => (likeIds(replicaDb).length === likeIds(primaryDb).length ? true : undefined), 20_000, 'caught up again');
      follower.stop();
      expect(likesIn(replicaDb)).toEqual(likesIn(primaryDb));
      expect(integrity(replicaDb)).toBe('ok');
    } finally {
      await replay.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
