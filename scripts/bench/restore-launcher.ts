/**
 * The primary as production runs it (`node dist/bin/launcher.js`: Litestream replicating to
 * the local S3 server, the service under it), started for one benchmark phase. Its output
 * goes to a log file, and Litestream's error lines are counted as they come.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { logFields } from '../../src/replication/litestream/run.js';
import { freePort, REPO_ROOT } from '../../testkit/processes/processes.js';
import { killTree, track } from './restore-children.js';

export interface LauncherOptions {
  dataDir: string;
  jetstreamUrl: string;
  /** BUCKET_NAME and AWS_* of the local S3 server. */
  s3Env: Record<string, string>;
  /** The bucket key prefix (LITESTREAM_PATH): one per run, so no run restores another's replica. */
  prefix: string;
  logFile: string;
  syncInterval?: string;
  snapshotInterval?: string;
  /** More of the service's variables (they win over the ones above). */
  env?: Record<string, string>;
}

/** What the log showed: Litestream's text lines and the service's JSON lines apart. */
export interface LogCounts {
  /** Litestream lines with level=ERROR while it ran. */
  litestreamErrors: number;
  /** ... and after the stop signal (seen: an upload the stop cancelled, which the final sync redid). */
  litestreamShutdownErrors: number;
  /** Litestream lines saying `database is locked` (a checkpoint or sync lost the lock). */
  litestreamLocked: number;
  /** Service lines saying `database is locked` (its writer waited out busy_timeout). */
  serviceLocked: number;
  /** WAL segments Litestream uploaded (one object each), and their bytes before compression. */
  walSegments: number;
  walSegmentBytes: number;
}

export interface Launcher {
  child: ChildProcess;
  /** The service's /metrics. */
  metricsUrl: string;
  counts(): LogCounts;
  /** Resolves with the first log line matching `pattern` from now on. */
  waitForLog(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM: the service stops, then Litestream makes its final sync; SIGKILL to the tree after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function startLauncher(options: LauncherOptions): Promise<Launcher> {
  const port = await freePort();
  const litestreamPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.s3Env,
    DATA_DIR: options.dataDir,
    PORT: String(port),
    JETSTREAM_URL: options.jetstreamUrl,
    LOG_LEVEL: 'warn',
    LITESTREAM_PATH: options.prefix,
    LITESTREAM_METRICS_ADDR: `127.0.0.1:${litestreamPort}`,
    ...(options.syncInterval ? { LITESTREAM_SYNC_INTERVAL: options.syncInterval } : {}),
    ...(options.snapshotInterval ? { LITESTREAM_SNAPSHOT_INTERVAL: options.snapshotInterval } : {}),
    ...options.env,
  };
  // detached: a group of its own, apart from this benchmark's (the exit hook kills its tree).
  const child = track(
    spawn(process.execPath, [`${REPO_ROOT}dist/bin/launcher.js`], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true }),
  );

  const counts: LogCounts = { litestreamErrors: 0, litestreamShutdownErrors: 0, litestreamLocked: 0, serviceLocked: 0, walSegments: 0, walSegmentBytes: 0 };
  let stopping = false;
  const watchers = new Set<(line: string) => void>();
  const log = createWriteStream(options.logFile);
  const onLine = (line: string) => {
    log.write(`${line}\n`);
    // Litestream logs text (`time=... level=... msg=...`); the service and launcher log JSON.
    if (line.startsWith('time=')) {
      if (line.includes('msg="signal received')) stopping = true;
      if (line.includes('level=ERROR')) counts[stopping ? 'litestreamShutdownErrors' : 'litestreamErrors'] += 1;
      if (line.includes('database is locked')) counts.litestreamLocked += 1;
      if (line.includes('msg="wal segment written"')) {
        counts.walSegments += 1;
        counts.walSegmentBytes += Number(logFields(line).sz ?? 0);
      }
    } else if (line.includes('database is locked')) {
      counts.serviceLocked += 1;
    }
    for (const watch of watchers) watch(line);
  };
  forEachLine(child.stdout!, onLine);
  forEachLine(child.stderr!, onLine);
  // 'close' comes after both pipes have ended, so no line is written after the end.
  child.once('close', () => log.end());

  return {
    child,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    counts: () => ({ ...counts }),
    waitForLog: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const done = (error?: Error, line?: string) => {
          clearTimeout(timer);
          watchers.delete(watch);
          child.off('exit', onExit);
          if (error) reject(error);
          else resolve(line!);
        };
        const watch = (line: string) => pattern.test(line) && done(undefined, line);
        const onExit = (code: number | null) => done(new Error(`launcher exited with ${code} before logging ${pattern}`));
        const timer = setTimeout(() => done(new Error(`launcher logged nothing matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
        watchers.add(watch);
        child.once('exit', onExit);
      }),
    stop: async (graceMs = 60_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => killTree(child.pid!), graceMs);
      await exited;
      clearTimeout(timer);
      if (!log.closed) await once(log, 'close');
    },
  };
}

function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => partial && onLine(partial));
}

/**
 * Has Litestream snapshot the database as it is now (0.3 has no command for it): the
 * launcher restarted on it with a snapshot interval shorter than the time since the last
 * snapshot, which Litestream then takes at once, and stopped as soon as it is written.
 * Returns the snapshot's size as Litestream logs it.
 */
export async function snapshotNow(options: Omit<LauncherOptions, 'jetstreamUrl' | 'snapshotInterval'>, secondsSinceLastSnapshot: number): Promise<number> {
  const intervalS = Math.max(1, Math.floor(secondsSinceLastSnapshot / 2));
  // Nothing listens there: the service only retries, and adds nothing to the database.
  const jetstreamUrl = `ws://127.0.0.1:${await freePort()}/subscribe`;
  const launcher = await startLauncher({ ...options, jetstreamUrl, snapshotInterval: `${intervalS}s` });
  try {
    const line = await launcher.waitForLog(/msg="snapshot written"/, (intervalS + 300) * 1000);
    return Number(logFields(line).sz ?? 0);
  } finally {
    await launcher.stop();
  }
}
