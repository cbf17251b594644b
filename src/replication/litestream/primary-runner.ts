import type { Logger } from '../../observability/logger.js';
import { litestreamBinary } from './binary.js';
import { litestreamMetricsUrl } from './monitor.js';
import { Replicator, type ReplicatorExit } from './replicator.js';
import { describeReplica, litestreamEnv, type LitestreamSettings } from './settings.js';
import { SnapshotGuard } from './snapshot-guard.js';
import { type ExitStatus, exitCode, type Supervised, supervise } from './supervisor.js';

/** After the service has exited: Litestream's final sync, then SIGKILL (0.3.13 can hang on SIGTERM). */
export const STOP_GRACE_MS = 30_000;
/** After SIGTERM to the service: its own stop deadline is 10 s; past this it is killed. */
export const SERVICE_STOP_GRACE_MS = 12_000;
/** A new generation's restart: the old generation's final sync is of no use to a restore. */
const NEW_GENERATION_GRACE_MS = 5_000;

/**
 * The primary: Litestream and the service side by side under the launcher.
 *   1. restore the database from the replica if the file is missing and a replica exists;
 *   2. start `litestream replicate` (replicator.ts), then the service beside it;
 *   3. while the service runs, if the replica loses every snapshot of Litestream's
 *      generation (snapshot-guard.ts), restart Litestream alone on a new generation: the
 *      service goes on serving and ingesting;
 *   4. on SIGTERM/SIGINT stop the service first (it commits its last batch), then Litestream
 *      (its final sync uploads that batch). A service that exits on its own ends it the same way.
 * Resolves with the exit code for the whole: the service's, or Litestream's failed final sync.
 */
export async function runPrimary(settings: LitestreamSettings, serviceArgv: string[], log: Logger): Promise<number> {
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
    void current?.stop(SERVICE_STOP_GRACE_MS);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // 1. The restore.
  log.info({ replica: describeReplica(settings), syncInterval: settings.syncInterval }, 'primary: replicating with Litestream');
  current = supervise(binary, ['restore', ...config, '-if-db-not-exists', '-if-replica-exists', settings.dbPath], { env });
  const restored = await current.exited;
  if (stopping) return 0;
  if (restored.code !== 0) {
    log.error({ status: restored }, 'restore before start failed; not starting');
    return exitCode(restored) || 1;
  }

  // 2. Litestream, then the service; its stdout and stderr are the launcher's.
  const replicator = new Replicator(settings, env, log, () => !stopping);
  replicator.start();
  const service = supervise(serviceArgv[0]!, serviceArgv.slice(1), { env, stdio: ['ignore', 'inherit', 'inherit'] });
  current = service;

  // 3. The guard, while the service runs.
  let serviceRunning = true;
  const guard = SnapshotGuard.forSettings(settings, log);
  void keepASnapshot(guard, settings.snapshotCheckMs, replicator, log, () => serviceRunning && !stopping);

  // 4. The service's exit, asked for or not; then Litestream's final sync.
  const serviceStatus = await service.exited;
  serviceRunning = false;
  if (stopping) log.info({ status: serviceStatus }, "service stopped; Litestream's final sync");
  else log.error({ status: serviceStatus }, "service exited on its own; Litestream's final sync, then exit");
  return outcome(serviceStatus, await replicator.stop(STOP_GRACE_MS), log);
}

/** Every `everyMs` while `running()`, a check; a lost snapshot restarts Litestream on a new generation. */
async function keepASnapshot(guard: SnapshotGuard, everyMs: number, replicator: Replicator, log: Logger, running: () => boolean): Promise<void> {
  if (everyMs === 0) return;
  while (running()) {
    await new Promise((resolve) => setTimeout(resolve, everyMs).unref());
    if (!running()) return;
    const lost = await guard.check();
    if (lost === undefined || !running()) continue;
    log.error(
      { generation: lost },
      'the replica holds no snapshot of the current generation (deleted from the bucket?): restarting Litestream alone on a new generation',
    );
    const stoppedMs = Date.now();
    await replicator.newGeneration(NEW_GENERATION_GRACE_MS);
    log.info({ restartMs: Date.now() - stoppedMs }, 'litestream restarted; its new generation starts with a snapshot');
  }
}

/**
 * The service's failure wins; after a clean stop, a failed final sync of Litestream (its last
 * batch may not be in the replica) makes the exit non-zero, but for 0.3.13's close bug.
 */
function outcome(service: ExitStatus, litestream: ReplicatorExit, log: Logger): number {
  const code = exitCode(service);
  if (code !== 0) return code;
  const { status, closeBugSeen } = litestream;
  log.info({ status }, 'litestream exited');
  if (status.code === 0) return 0;
  if (status.code === 1 && closeBugSeen) {
    log.warn("Litestream 0.3.13's close-time checkpoint failed (an upstream bug fixed after 0.3.13) after its final sync: exit 0");
    return 0;
  }
  log.error({ status }, "litestream's final sync failed: the last batch may not be in the replica");
  return exitCode(status);
}
