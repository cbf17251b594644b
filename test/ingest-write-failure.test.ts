import { afterEach, describe, expect, it } from 'vitest';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { Ingester, jetstreamSource } from '../src/ingest/ingester.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { generateDataset } from '../testkit/dataset/generator.js';
import { startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { likeFingerprint, streamLikeFingerprint, tempDatabase } from '../testkit/processes/db.js';
import { testConfig, waitFor } from '../testkit/processes/service.js';

describe('ingest when writes fail (a full disk)', () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('pauses with a metric, keeps the batch, and resumes from where it was with nothing lost', async () => {
    const lines = [...generateDataset({ seed: 3, likes: 5000, endTimeUs: Math.floor(Date.now() / 1000) * 1e6 })];

    // The reference: every parsed event written in one go.
    const expected = streamLikeFingerprint(lines);

    // The database under test can grow by a few batches only: SQLite answers SQLITE_FULL, as on a full disk.
    const target = tempDatabase();
    cleanups.push(target.cleanup);
    const pages = target.db.pragma('page_count', { simple: true }) as number;
    target.db.pragma(`max_page_count = ${pages + 64}`);
    const writer = new EventWriter(target.db);

    const jetstream = await startJetstreamReplay({ lines });
    cleanups.push(() => jetstream.close());
    const metrics = createMetrics();
    const config = testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe`, INGEST_BATCH_SIZE: '500' });
    const ingester = new Ingester({
      config: config.ingest,
      sink: { writeBatch: async (batch, cursor) => writer.writeBatch(batch, cursor), liveLikeCount: () => writer.liveLikeCount() },
      storedCursor: writer.cursor(),
      metrics,
      log: createLogger('silent'),
      source: jetstreamSource(config.ingest, createLogger('silent')),
    });
    ingester.start();
    cleanups.push(() => ingester.stop());

    await waitFor(async () => ((await metrics.ingestPaused.get()).values[0]?.value === 1 ? true : undefined), 10_000, 'pause');
    const errors = (await metrics.ingestWriteErrors.get()).values[0]?.value ?? 0;
    expect(errors).toBeGreaterThan(0);
    const committedWhileFull = likeFingerprint(target.db).length;
    expect(committedWhileFull).toBeGreaterThan(0);
    expect(committedWhileFull).toBeLessThan(expected.length);
    // The lag keeps counting while nothing commits: it is not frozen at its last value.
    // (It is recomputed each second, so 2.1 s later it has moved by two whole seconds, one if a tick ran late.)
    const lag = async () => (await metrics.ingestLagSeconds.get()).values[0]?.value ?? Number.NaN;
    const lagWhenPaused = await lag();
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await lag()).toBeGreaterThanOrEqual(lagWhenPaused + 0.99);

    // Space comes back: ingest resumes by itself and ends with exactly the reference likes.
    target.db.pragma('max_page_count = 1073741823');
    await waitFor(() => (likeFingerprint(target.db).length === expected.length ? true : undefined), 20_000, 'catch-up');
    expect(likeFingerprint(target.db)).toEqual(expected);
    expect((await metrics.ingestPaused.get()).values[0]?.value).toBe(0);
  });
});
