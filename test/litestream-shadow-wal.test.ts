/**
 * During an object-store outage the database's WAL stays bounded (Litestream keeps
 * checkpointing it) while Litestream's shadow WAL keeps every segment not yet uploaded:
 * /metrics must report that backlog, or a long outage fills the volume unseen.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { metricValue, startTestService, testConfig } from '../testkit/processes/service.js';

describe('feedgen_litestream_shadow_wal_bytes', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("reports the bytes in Litestream's shadow WAL folder beside the database, read at scrape time", async () => {
    const jetstream = await startJetstreamReplay({ lines: [] });
    cleanups.push(() => jetstream.close());
    const config = testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe` });
    const svc = await startTestService(config);
    cleanups.push(() => svc.stop());
    const scrape = async () => metricValue(await (await fetch(`${svc.baseUrl}/metrics`)).text(), 'feedgen_litestream_shadow_wal_bytes');

    expect(await scrape()).toBe(0); // no Litestream: no folder

    // Litestream 0.3's layout: .<db>-litestream/generations/<id>/wal/<index>.wal
    const walDir = path.join(config.dataDir, '.feed.db-litestream', 'generations', '5b39fa63cf871569', 'wal');
    mkdirSync(walDir, { recursive: true });
    writeFileSync(path.join(config.dataDir, '.feed.db-litestream', 'generation'), '5b39fa63cf871569');
    writeFileSync(path.join(walDir, '00000000.wal'), Buffer.alloc(3 * 4120));
    writeFileSync(path.join(walDir, '00000001.wal'), Buffer.alloc(5 * 4120));
    expect(await scrape()).toBe(16 + 8 * 4120);
  });
});
