/**
 * The disk guard: ingest is held while the data volume is nearly full (the bucket down,
 * Litestream's shadow WAL growing), and goes on from its cursor once it drains, with
 * nothing lost. The volume's use is the test's to set; the stream, the ingester and the
 * database are real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DiskGuard } from '../src/ingest/disk-guard.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { Ingester, type IngestPauseReason, jetstreamSource } from '../src/ingest/ingester.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { generateDataset } from '../testkit/dataset/generator.js';
import { startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { likeFingerprint, streamLikeFingerprint, tempDatabase } from '../testkit/processes/db.js';
import { testConfig, waitFor } from '../testkit/processes/service.js';

const silent = createLogger('silent');

describe('the disk guard', () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('holds past the threshold, and lets go only 5 points below it', async () => {
    const metrics = createMetrics();
    let share = 0.5;
    const verdicts: boolean[] = [];
    const guard = new DiskGuard({ dir: '.', pausePercent: 90, metrics, log: silent, onChange: (hold) => verdicts.push(hold), usedShare: async () => share });
    for (const next of [0.5, 0.89, 0.9, 0.95, 0.86, 0.851, 0.85, 0.7, 0.91]) {
      share = next;
      await guard.check();
    }
    expect(verdicts).toEqual([true, false, true]);
    expect((await metrics.dataVolumeUsedRatio.get()).values[0]?.value).toBe(0.91);
  });

  it('measures the real volume, and at 100 % never holds', async () => {
    const metrics = createMetrics();
    const verdicts: boolean[] = [];
    const guard = new DiskGuard({ dir: '.', pausePercent: 1, metrics, log: silent, onChange: (hold) => verdicts.push(hold) });
    await guard.check();
    const used = (await metrics.dataVolumeUsedRatio.get()).values[0]?.value ?? -1;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(1);
    expect(verdicts).toEqual(used >= 0.01 ? [true] : []);
    const off = new DiskGuard({ dir: '.', pausePercent: 100, metrics, log: silent, onChange: (hold) => verdicts.push(hold), usedShare: async () => 1 });
    off.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    off.stop();
    expect(verdicts.length).toBeLessThanOrEqual(1);
  });

  it('holds ingest: nothing is written meanwhile, the cursor stays, and it resumes with exactly the stream', async () => {
    const lines = [...generateDataset({ seed: 5, likes: 4000, endTimeUs: Math.floor(Date.now() / 1000) * 1e6 })];
    const expected = streamLikeFingerprint(lines);

    const target = tempDatabase();
    cleanups.push(target.cleanup);
    const writer = new EventWriter(target.db);
    // Slow enough that the hold lands mid-stream.
    const jetstream = await startJetstreamReplay({ lines, ratePerSec: 4000 });
    cleanups.push(() => jetstream.close());
    const metrics = createMetrics();
    const config = testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe`, INGEST_BATCH_SIZE: '200', INGEST_BATCH_WAIT_MS: '20' });
    const told: Array<IngestPauseReason | undefined> = [];
    const ingester = new Ingester({
      config: config.ingest,
      sink: { writeBatch: async (batch, cursor) => writer.writeBatch(batch, cursor), liveLikeCount: () => writer.liveLikeCount() },
      storedCursor: writer.cursor(),
      metrics,
      log: silent,
      source: jetstreamSource(config.ingest, silent),
      onPauseChange: (reason) => told.push(reason),
    });
    let share = 0.5;
    const guard = new DiskGuard({ dir: '.', pausePercent: 90, metrics, log: silent, onChange: (hold) => ingester.hold(hold), usedShare: async () => share });
    ingester.start();
    cleanups.push(() => ingester.stop());

    await waitFor(() => (likeFingerprint(target.db).length > 500 ? true : undefined), 10_000, 'ingest under way');
    share = 0.95;
    await guard.check();
    expect(ingester.pauseReason()).toBe('disk_guard');
    expect((await metrics.ingestPaused.get()).values[0]?.value).toBe(1);
    // A batch already handed to the writer may still commit; after it, nothing does.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const heldLikes = likeFingerprint(target.db).length;
    const heldCursor = writer.cursor();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(likeFingerprint(target.db).length).toBe(heldLikes);
    expect(writer.cursor()).toEqual(heldCursor);
    expect(heldLikes).toBeLessThan(expected.length);

    share = 0.8;
    await guard.check();
    await waitFor(() => (likeFingerprint(target.db).length === expected.length ? true : undefined), 20_000, 'catch-up');
    expect(likeFingerprint(target.db)).toEqual(expected);
    expect(ingester.pauseReason()).toBeUndefined();
    expect((await metrics.ingestPaused.get()).values[0]?.value).toBe(0);
    expect(told).toEqual(['disk_guard', undefined]);
    expect((await metrics.ingestPauses.get()).values.find((v) => v.labels.reason === 'disk_guard')?.value).toBe(1);
  });
});
