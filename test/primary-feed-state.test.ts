/**
 * What the primary writes of its state for replicas to read in their copies: its feed,
 * `loading` from the writer's start, `serving` once the like graph has loaded, `stopped`
 * after a clean stop (a replica whose copy is old hands reads over only while it says
 * `serving`); and the stream cursor, which health turns into the newest event's age.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WriterThread } from '../src/ingest/writer/writer-thread.js';
import { readPrimarySignals } from '../src/replication/follower/copy-checks.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { MemoryEventSource } from '../testkit/standins/memory-event-source.js';
import { metricValue, startTestService, testConfig, waitFor } from '../testkit/processes/service.js';

describe("the primary's feed state in the database", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('the writer says loading when it opens, what it is told after, and stopped when it closes', async () => {
    const config = testConfig();
    dirs.push(config.dataDir);
    const noop = () => undefined;
    const writer = await WriterThread.start(
      { dbPath: config.dbPath, db: config.db, retention: config.retention, writerPauseMs: 0 },
      { onPruned: noop, onHousekeepingError: noop, onCrash: noop },
    );
    expect(readPrimarySignals(config.dbPath).feed).toBe('loading');
    await writer.writePrimaryFeed('serving');
    expect(readPrimarySignals(config.dbPath).feed).toBe('serving');
    await writer.stop();
    expect(readPrimarySignals(config.dbPath)).toMatchObject({ feed: 'stopped', heartbeatMs: expect.any(Number) });
  });

  it('the writer says why ingest is paused, and a new start clears it', async () => {
    const config = testConfig();
    dirs.push(config.dataDir);
    const noop = () => undefined;
    const open = () =>
      WriterThread.start(
        { dbPath: config.dbPath, db: config.db, retention: config.retention, writerPauseMs: 0 },
        { onPruned: noop, onHousekeepingError: noop, onCrash: noop },
      );
    const writer = await open();
    expect(readPrimarySignals(config.dbPath).ingestPaused).toBeUndefined();
    await writer.writeIngestPaused('disk_guard');
    expect(readPrimarySignals(config.dbPath).ingestPaused).toBe('disk_guard');
    await writer.stop();
    const again = await open();
    expect(readPrimarySignals(config.dbPath).ingestPaused).toBeUndefined();
    await again.stop();
  });

  it('a primary whose data volume is past DISK_GUARD_PERCENT holds ingest, and says why in health and in the database', async () => {
    // 1 %: any real volume is fuller than that, so the guard holds from the start.
    const config = testConfig({ DISK_GUARD_PERCENT: '1' });
    dirs.push(config.dataDir);
    const svc = await startTestService(config, { keepData: true, overrides: { eventSource: new MemoryEventSource(jsonlLines(CAPTURE_FILE)) } });
    try {
      const health = await waitFor(async () => {
        const body = (await (await fetch(`${svc.baseUrl}/xrpc/_health`)).json()) as { ingest_paused: string | null };
        return body.ingest_paused === null ? undefined : body;
      }, 10_000, 'ingest paused in health');
      expect(health.ingest_paused).toBe('disk_guard');
      await waitFor(() => (readPrimarySignals(config.dbPath).ingestPaused === 'disk_guard' ? true : undefined), 10_000, 'the pause in the database');
      const metrics = await svc.service.ctx.metrics.registry.metrics();
      expect(metricValue(metrics, 'feedgen_ingest_paused')).toBe(1);
      expect(metricValue(metrics, 'feedgen_likes')).toBe(0);
    } finally {
      await svc.stop();
    }
  });

  it('a primary says serving once its like graph has loaded, and stopped once it has stopped', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'feedgen-feed-state-'));
    dirs.push(dataDir);
    const config = testConfig({ DATA_DIR: dataDir });
    const svc = await startTestService(config, { keepData: true, overrides: { eventSource: new MemoryEventSource(jsonlLines(CAPTURE_FILE)) } });
    try {
      await waitFor(() => (readPrimarySignals(config.dbPath).feed === 'serving' ? true : undefined), 10_000, 'serving');
      expect(svc.service.ctx.config.role).toBe('primary');
    } finally {
      await svc.stop();
    }
    expect(readPrimarySignals(config.dbPath).feed).toBe('stopped');
  });

  it("health says how old the newest event in the database is, from the stored cursor (what a replica's copy holds too)", async () => {
    const lines = jsonlLines(CAPTURE_FILE);
    const newestUs = Math.max(...lines.map((line) => (JSON.parse(line) as { time_us: number }).time_us));
    const config = testConfig();
    dirs.push(config.dataDir);
    const svc = await startTestService(config, { overrides: { eventSource: new MemoryEventSource(lines) } });
    try {
      const health = await waitFor(async () => {
        const body = (await (await fetch(`${svc.baseUrl}/xrpc/_health`)).json()) as { ready: boolean; ingest_lag_seconds: number | null };
        return body.ready && body.ingest_lag_seconds !== null ? body : undefined;
      }, 10_000, 'ready with an ingest lag');
      // The cursor is the newest time less the stream's disorder margin (at least a second).
      const sinceNewestS = Date.now() / 1000 - newestUs / 1e6;
      expect(health.ingest_lag_seconds).toBeGreaterThanOrEqual(sinceNewestS - 1);
      expect(health.ingest_lag_seconds).toBeLessThan(sinceNewestS + 5);
    } finally {
      await svc.stop();
    }
  });
});
