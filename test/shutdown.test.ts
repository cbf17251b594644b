import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openReader } from '../src/store/database.js';
import { startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { killAllServices, spawnService } from '../testkit/processes/child-service.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { waitFor } from '../testkit/processes/service.js';

describe('process lifecycle', () => {
  const dirs: string[] = [];
  afterAll(() => {
    killAllServices();
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  it('commits what it read and exits 0 on SIGTERM, within a few seconds', async () => {
    const jetstream = await startJetstreamReplay({ lines: jsonlLines(CAPTURE_FILE) });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'feedgen-stop-'));
    dirs.push(dataDir);
    // A long batch wait: only the shutdown flush can commit the capture's likes.
    const { child, exited } = spawnService({
      DATA_DIR: dataDir,
      PORT: '0',
      JETSTREAM_URL: `${jetstream.url}/subscribe`,
      INGEST_BATCH_WAIT_MS: '60000',
    });
    // The server sends the capture's likes, posts and follows, and its account and identity events: 134 of its 152 lines (not its reposts or blocks).
    await waitFor(() => (jetstream.stats().framesSent >= 134 ? true : undefined), 20_000, 'capture sent');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopStarted = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - stopStarted).toBeLessThan(5000);
    await jetstream.close();

    const reader = openReader(path.join(dataDir, 'feed.db'), { busyTimeoutMs: 1000 });
    try {
      expect(reader.prepare('SELECT count(*) AS n FROM likes').get()).toEqual({ n: 105 });
    } finally {
      reader.close();
    }
  });

  it('exits 2 with every problem named when the configuration is bad', async () => {
    const { exited, output } = spawnService({ PORT: 'eighty', RETENTION_DAYS: '-3' });
    expect(await exited).toBe(2);
    expect(output()).toContain('PORT="eighty" is not an integer');
    expect(output()).toContain('RETENTION_DAYS=-3 is out of range');
  });
});
