/**
 * One dataset ingested at full speed, by the service alone and by the launcher with
 * Litestream replicating, measured as bench:ingest measures it (events/s from the
 * service's own counters, first event to last).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { waitForIngestToSettle } from './ingest-phase.js';
import { freePort, spawnBuiltService, spawnTs, stopChild, waitForLine } from '../../testkit/processes/processes.js';
import { track, unlessExited } from './restore-children.js';
import { type LauncherOptions, type LogCounts, startLauncher } from './restore-launcher.js';
import { withReader } from '../../src/store/database.js';

export interface IngestRate {
  events: number;
  likesStored: number;
  seconds: number;
  eventsPerS: number;
}

export interface ReplicatedIngest extends IngestRate {
  peakWalBytes: number;
  log: LogCounts;
}

/**
 * The compiled service alone. SQLite checkpoints by itself here, at the default
 * SQLITE_WAL_AUTOCHECKPOINT (10,000 pages): how the service runs without Litestream.
 * Under the launcher that setting is 0 and Litestream checkpoints instead.
 */
export async function ingestAlone(dataset: string, dataDir: string): Promise<IngestRate> {
  return withReplay(dataset, 0, async (jetstreamUrl) => {
    const port = await freePort();
    const service = track(spawnBuiltService({ DATA_DIR: dataDir, PORT: String(port), JETSTREAM_URL: jetstreamUrl, LOG_LEVEL: 'warn' }));
    service.stdout!.pipe(process.stderr);
    service.stderr!.pipe(process.stderr);
    try {
      return rate(await unlessExited(service, 'the service', waitForIngestToSettle(`http://127.0.0.1:${port}/metrics`)));
    } finally {
      await stopChild(service);
    }
  });
}

/** The launcher (Litestream replicating, the service under it), stopped after its final sync. */
export async function ingestReplicated(dataset: string, options: Omit<LauncherOptions, 'jetstreamUrl'>): Promise<ReplicatedIngest> {
  return withReplay(dataset, 0, async (jetstreamUrl) => {
    const launcher = await startLauncher({ ...options, jetstreamUrl });
    const wal = sampleWalPeak(path.join(options.dataDir, 'feed.db'));
    try {
      const settled = await unlessExited(launcher.child, 'the launcher', waitForIngestToSettle(launcher.metricsUrl));
      await launcher.stop();
      return { ...rate(settled), peakWalBytes: wal.stop(), log: launcher.counts() };
    } finally {
      wal.stop();
      await launcher.stop();
    }
  });
}

/** A Jetstream replay server on `dataset` (`ratePerS` events/s, 0 for full speed) while `work` runs. */
export async function withReplay<T>(dataset: string, ratePerS: number, work: (jetstreamUrl: string) => Promise<T>): Promise<T> {
  const replay = track(spawnTs('scripts/jetstream-replay.ts', ['--file', dataset, '--at-end', 'idle', '--rate', String(ratePerS)]));
  replay.stderr!.pipe(process.stderr);
  try {
    return await work(await waitForLine(replay, /listening on (\S+)/));
  } finally {
    await stopChild(replay);
  }
}

/** The -wal file's largest size, sampled every `everyMs` until `stop()`. */
export function sampleWalPeak(dbPath: string, everyMs = 100): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, statSync(`${dbPath}-wal`).size);
    } catch {
      // not created yet, or between a truncate and the next write
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** The database's size with every page in the WAL counted: page_count × page_size. */
export function databaseBytes(dbPath: string): number {
  return withReader(dbPath, (db) => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number));
}

function rate(settled: { events: number; likesStored: number; seconds: number }): IngestRate {
  return { ...settled, eventsPerS: settled.events / settled.seconds };
}
