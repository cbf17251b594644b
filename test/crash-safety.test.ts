import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openReader } from '../src/store/database.js';
import { generateDataset } from '../testkit/dataset/generator.js';
import { seeded } from '../testkit/random.js';
import { framesSentFor, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { WANTED_COLLECTIONS } from '../src/ingest/events.js';
import { killAllServices, spawnService } from '../testkit/processes/child-service.js';
import { likeFingerprint } from '../testkit/processes/db.js';
import { metricTotal } from '../testkit/metrics/prometheus.js';
import { startTestService, testConfig, waitFor } from '../testkit/processes/service.js';

const LIKES = 20_000;
const KILLS = 5;
/** Slow enough that every kill lands mid-stream. */
const RATE_PER_S = 3_000;


function fingerprintOf(dbPath: string): string[] {
  const reader = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    return likeFingerprint(reader);
  } finally {
    reader.close();
  }
}

/** Like rows ever committed (unliked ones included): only grows while nothing is pruned. */
function likeRows(dbPath: string): number {
  const reader = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    return reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM likes').get()!.n;
  } finally {
    reader.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crash safety', () => {
  const dirs: string[] = [];
  afterAll(() => {
    killAllServices();
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });

  it(`ends with the same likes as a clean run after ${KILLS} SIGKILLs at random moments`, async () => {
    const lines = [...generateDataset({ seed: 7, likes: LIKES, endTimeUs: Math.floor(Date.now() / 1000) * 1e6 })];

    // 1. The clean run: one uninterrupted ingest of the whole stream.
    const cleanServer = await startJetstreamReplay({ lines });
    const cleanConfig = testConfig({ JETSTREAM_URL: `${cleanServer.url}/subscribe` });
    dirs.push(cleanConfig.dataDir);
    const clean = await startTestService(cleanConfig, { keepData: true });
    // Every frame read and counted (counts are taken as batches commit), not only sent.
    const eventsCounted = async () => metricTotal(await clean.service.ctx.metrics.registry.metrics(), 'feedgen_ingest_events_total');
    await waitFor(async () => ((await eventsCounted()) === framesSentFor(lines, WANTED_COLLECTIONS).frames ? true : undefined), 60_000, 'every frame of the clean run ingested');
    await clean.stop();
    await cleanServer.close();
    const expected = fingerprintOf(cleanConfig.dbPath);
    expect(expected.length).toBeGreaterThan(LIKES * 0.9);

    // 2. The same stream, paced, into a process killed with SIGKILL at random moments.
    const server = await startJetstreamReplay({ lines, ratePerSec: RATE_PER_S });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'feedgen-crash-'));
    dirs.push(dataDir);
    const env = { DATA_DIR: dataDir, PORT: '0', JETSTREAM_URL: `${server.url}/subscribe`, INGEST_BATCH_WAIT_MS: '20' };
    const dbPath = path.join(dataDir, 'feed.db');
    const random = seeded(20261127);
    const storedAfterKill: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const { child, exited } = spawnService(env);
      await waitFor(() => (server.stats().connections > kill ? true : undefined), 20_000, `connection ${kill + 1}`);
      await sleep(200 + random() * 1500);
      child.kill('SIGKILL');
      expect(await exited).toBeNull();
      storedAfterKill.push(likeRows(dbPath));
    }
    // Every kill landed mid-stream, and no restart lost what an earlier run had committed.
    expect(storedAfterKill.at(-1)!).toBeLessThan(likeRows(cleanConfig.dbPath));
    expect(storedAfterKill[0]!).toBeGreaterThan(0);
    expect(storedAfterKill).toEqual([...storedAfterKill].sort((a, b) => a - b));

    // 3. A last run to the end: the result must converge to the clean one.
    const last = spawnService(env);
    try {
      await waitFor(() => (fingerprintOf(dbPath).length === expected.length ? true : undefined), 60_000, 'catch-up');
      await sleep(300);
      expect(fingerprintOf(dbPath)).toEqual(expected);
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
      await server.close();
    }
  }, 180_000);
});
