/**
 * A replica whose database file is deleted under the running follower (its volume
 * wiped): the follower restores afresh by itself instead of failing every apply.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLitestreamSettings } from '../src/replication/litestream/settings.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { Follower } from '../src/replication/follower/follower.js';
import { ReplicaLayout } from '../src/replication/bucket/layout.js';
import { objectStoreFor } from '../src/replication/bucket/object-store.js';
import { positionPath } from '../src/replication/follower/position-file.js';
import { likeIds, likeLines, likesIn, primarySuite, startPrimary } from '../testkit/processes/primary.js';
import { waitFor } from '../testkit/processes/service.js';

describe('replica follower, file deleted under it', () => {
  const suite = primarySuite();

  it('restores afresh when its database file disappears, then keeps following', async () => {
    const { replay, env, dbPath: primaryDb } = await suite.stream(likeLines(12_000, 31), 2000);
    const replicaDb = path.join(suite.tempDir(), 'feed.db');
    const primary = startPrimary(env);
    await waitFor(() => (likeIds(primaryDb).length > 2000 ? true : undefined), 30_000, 'primary ingesting');

    const settings = readLitestreamSettings({ ...process.env, ...env }, env.DATA_DIR!);
    const { store, root } = objectStoreFor(settings);
    let restored = 0;
    const follower = new Follower({
      store,
      layout: new ReplicaLayout(root),
      dbPath: replicaDb,
      log: createLogger('silent'),
      metrics: createMetrics(),
      pollMs: 100,
      stallMs: 1000,
      minCheckpointPages: settings.minCheckpointPages,
      onRestored: () => restored++,
    });
    await waitFor(() => follower.bootstrap().then(() => true, () => undefined), 20_000, 'a first snapshot');
    follower.start();
    try {
      await waitFor(() => (likeIds(replicaDb).length > 3000 ? true : undefined), 20_000, 'replica following');

      rmSync(replicaDb);
      rmSync(positionPath(replicaDb));
      await waitFor(() => (restored > 0 && likeIds(replicaDb).length > 0 ? true : undefined), 15_000, 'restored afresh');

      expect(await (primary.child.kill('SIGTERM'), primary.exited)).toBe(0);
      await replay.close();
      await waitFor(() => (likeIds(replicaDb).length === likeIds(primaryDb).length ? true : undefined), 15_000, 'caught up again');
      expect(likesIn(replicaDb)).toEqual(likesIn(primaryDb));
    } finally {
      follower.stop();
    }
  }, 60_000);
});
