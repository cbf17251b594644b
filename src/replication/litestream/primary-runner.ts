import fs from 'node:fs';
import type { Logger } from '../../observability/logger.js';
import { litestreamBinary } from './binary.js';
import { litestreamMetricsUrl } from './monitor.js';
import { describeReplica, litestreamEnv, type LitestreamSettings } from './settings.js';
import { shadowDirOf } from './shadow-wal.js';
import { SnapshotGuard } from './snapshot-guard.js';
import { exitCode, type Supervised, supervise } from './supervisor.js';

/** After SIGTERM: the service's own stop deadline (10 s), then Litestream's final sync. */
export const STOP_GRACE_MS = 30_000;

/**
 * The primary under Litestream:
 *   1. restore the database from the replica if the file is missing and a replica exists;
 *   2. `litestream replicate -exec <service>`: Litestream forwards SIGTERM/SIGINT to the
 *      service, waits for it to commit its last batch and exit, then makes its final sync;
 *   3. if the replica loses every snapshot of Litestream's generation (snapshot-guard.ts),
 *      stop both, drop Litestream's local state and go back to 2: a new generation.
 * Resolves with the exit code for the whole: the service's outcome, as Litestream reports it.
 */
export async function runPrimary(settings: LitestreamSettings, serviceCommand: string, log: Logger): Promise<number> {
  const binary = litestreamBinary();
  const env: NodeJS.ProcessEnv = {
    ...litestreamEnv(settings),
    // The service picks its database defaults for Litestream (config.ts, LITESTREAM_PROFILE).
    UNDER_LITESTREAM: '1',
    LITESTREAM_METRICS_URL: litestreamMetricsUrl(settings.metricsAddr) ?? '',
  };
  const config = ['-config', settings.configPath];

  // One handler from the start: a signal during the restore must not leave it running.
  let current: Supervised | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping: the service first, then Litestream's final sync");
    void current?.stop(STOP_GRACE_MS);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info({ replica: describeReplica(settings), syncInterval: settings.syncInterval }, 'primary: replicating with Litestream');
  current = supervise(binary, ['restore', ...config, '-if-db-not-exists', '-if-replica-exists', settings.dbPath], { env });
  const restored = await current.exited;
  if (stopping) return 0;
  if (restored.code !== 0) {
    log.error({ status: restored }, 'restore before start failed; not starting');
    return exitCode(restored) || 1;
  }

  const guard = SnapshotGuard.forSettings(settings, log);
  for (;;) {
    if (stopping) return 0;
    // stderr carries Litestream's log (and the service's, which inherits it): passed through,
    // and read for the one failure that is not one.
    const replicate = supervise(binary, ['replicate', ...config, '-exec', serviceCommand], { env, stdio: ['inherit', 'inherit', 'pipe'] });
    current = replicate;
    let closeBugSeen = false;
    forwardLines(replicate.child.stderr!, process.stderr, (line) => (closeBugSeen ||= isKnownCloseBug(line)));
    const lost = await Promise.race([replicate.exited.then(() => undefined), lostSnapshot(guard, settings.snapshotCheckMs, replicate)]);
    if (lost !== undefined && !stopping) {
      log.error(
        { generation: lost },
        'the replica holds no snapshot of the current generation (deleted from the bucket?): restarting Litestream on a new generation',
      );
      await replicate.stop(STOP_GRACE_MS);
      fs.rmSync(shadowDirOf(settings.dbPath), { recursive: true, force: true });
      if (stopping) return 0;
      continue;
    }
    const status = await replicate.exited;
    log.info({ status }, 'litestream exited');
    if (status.code === 1 && closeBugSeen) {
      log.warn("Litestream 0.3.13's close-time checkpoint failed (an upstream bug fixed after 0.3.13) after its final sync: exit 0");
      return 0;
    }
    return exitCode(status);
  }
}

/** Resolves with the generation the guard found without a snapshot; never while checks are off or once `running` exits. */
async function lostSnapshot(guard: SnapshotGuard, everyMs: number, running: Supervised): Promise<string | undefined> {
  if (everyMs === 0) return new Promise(() => undefined);
  let exited = false;
  void running.exited.then(() => (exited = true));
  while (!exited) {
    await new Promise((resolve) => setTimeout(resolve, everyMs).unref());
    if (exited) break;
    const lost = await guard.check();
    if (lost !== undefined) return lost;
  }
  return new Promise(() => undefined);
}

/**
 * Litestream 0.3.13 re-takes its read lock with an already-cancelled context when its final
 * sync checkpoints (WAL past 1,000 pages, or a minute since the last checkpoint), and exits 1
 * with this error. It comes from the database sync, after the WAL was copied; the replicas'
 * final sync still runs after it. Litestream reports it only when the service itself stopped
 * cleanly (a failed service is reported first, as another error).
 */
export function isKnownCloseBug(line: string): boolean {
  return /msg="failed to run" error="checkpoint: mode=\w+ err=release read lock: context canceled"/.test(line);
}

function forwardLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, onLine: (line: string) => void): void {
  let partial = '';
  from.on('data', (chunk: Buffer) => {
    to.write(chunk);
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  });
  from.on('end', () => partial && onLine(partial));
}
