import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { openReader } from '../../src/store/database.js';
import { restoreDatabase, type RestoreSummary } from '../../src/replication/litestream/restore.js';
import { readLitestreamSettings } from '../../src/replication/litestream/settings.js';
import { generateDataset } from '../dataset/generator.js';
import { startJetstreamReplay } from '../standins/jetstream-server.js';
import { type S3Server, startS3Server } from '../standins/s3-server.js';
import { killAllServices, spawnTsChild, type TsChild } from './child-service.js';
import { likeFingerprint } from './db.js';

const LAUNCHER = fileURLToPath(new URL('../../src/bin/launcher.ts', import.meta.url));

/** Kills every primary (and replica) still running, their whole process groups. */
export const killAllPrimaries = killAllServices;

/**
 * The primary as it runs in production: `src/bin/launcher.ts` → `litestream replicate` and
 * the service beside it, in a process group of its own so a test can SIGKILL all of it at once.
 */
export type Primary = TsChild;

export function startPrimary(env: Record<string, string>): Primary {
  return spawnTsChild(
    LAUNCHER,
    {
      PORT: '0',
      INGEST_BATCH_WAIT_MS: '20',
      JETSTREAM_RECONNECT_MIN_MS: '50',
      JETSTREAM_RECONNECT_MAX_MS: '500',
      LITESTREAM_METRICS_ADDR: 'off',
      ...env,
    },
    { detached: true },
  );
}

/** A data folder for a primary that replicates to `s3` under its own key prefix. */
export function primaryEnv(s3: S3Server, jetstreamUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'feedgen-primary-'));
  return {
    ...s3.env(),
    DATA_DIR: dataDir,
    JETSTREAM_URL: jetstreamUrl,
    LITESTREAM_PATH: path.basename(dataDir),
    ...extra,
  };
}

/** Restores the bucket's copy of the primary with `env` into `output`. */
export function restoreFrom(env: Record<string, string>, output: string, timestamp?: string): Promise<RestoreSummary> {
  const settings = readLitestreamSettings({ ...process.env, ...env }, env.DATA_DIR!);
  return restoreDatabase(settings, { output, timestamp });
}

/** Live likes of a database file, as comparable strings. */
export function likesIn(dbPath: string): string[] {
  const db = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    return likeFingerprint(db);
  } finally {
    db.close();
  }
}

/** Like rows ever committed (unliked ones too), by id: what the WAL carried. None before the schema exists. */
export function likeIds(dbPath: string): number[] {
  if (!existsSync(dbPath)) return [];
  const db = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'likes'").get()) return [];
    return db.prepare('SELECT id FROM likes ORDER BY id').pluck().all() as number[];
  } finally {
    db.close();
  }
}

/** A generated like stream ending now (no malformed lines: these tests count likes). */
export function likeLines(likes: number, seed: number): string[] {
  return [...generateDataset({ seed, likes, malformedShare: 0 })];
}

/**
 * One S3 server for a suite, temporary folders removed after it, every primary killed:
 * registers its own beforeAll/afterAll.
 */
export function primarySuite() {
  let s3: S3Server | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    killAllPrimaries();
    await s3?.close();
    dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });
  const suite = {
    s3: () => s3!,
    tempDir: () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'feedgen-test-'));
      dirs.push(dir);
      return dir;
    },
    /** A replay of `lines` at `ratePerSec` and a primary's environment replicating to the suite's S3. */
    async stream(lines: string[], ratePerSec: number, extra: Record<string, string> = {}) {
      const replay = await startJetstreamReplay({ lines, ratePerSec });
      const env = primaryEnv(suite.s3(), `${replay.url}/subscribe`, extra);
      dirs.push(env.DATA_DIR!);
      return { replay, env, dbPath: path.join(env.DATA_DIR!, 'feed.db') };
    },
  };
  return suite;
}
