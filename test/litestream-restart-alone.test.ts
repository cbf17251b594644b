/**
 * Litestream beside the service, not its parent: the snapshot guard's restart (a new
 * generation after the bucket lost its snapshots) and a Litestream that dies restart
 * Litestream alone. The service keeps its pid, answers HTTP and ingests throughout, and
 * the bucket restores exactly the likes afterwards. Prints what the restart cost. A
 * service that dies still ends the whole, its last commits uploaded.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { objectsUnder, wipePrefix } from '../testkit/standins/bucket-prefix.js';
import { maxLikeId } from '../testkit/processes/cluster.js';
import { FEED_URI, PUBLISHER_DID } from '../testkit/processes/feed-service.js';
import { waitHealthy } from '../testkit/processes/health.js';
import { likeLines, likesIn, type Primary, primarySuite, restoreFrom, startPrimary } from '../testkit/processes/primary.js';
import { primaryProcesses } from '../testkit/processes/process-tree.js';
import { freePort } from '../testkit/processes/processes.js';
import { type ServingFigures, watchServing } from '../testkit/processes/serving-watch.js';
import { metricValue, waitFor } from '../testkit/processes/service.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeFigures(figures: ServingFigures): string {
  return `HTTP unanswered: health ${figures.healthDownMs} ms, getFeedSkeleton ${figures.feedDownMs} ms; longest ingest stall ${figures.ingestStallMs} ms; service pids ${figures.servicePids.join(' → ')} (${figures.probes} probes)`;
}

describe('Litestream restarted alone', () => {
  const suite = primarySuite();

  /** A primary ingesting a stream, ready, with a snapshot in the bucket. */
  const startStreaming = async (seed: number) => {
    const port = await freePort();
    const { replay, env, dbPath } = await suite.stream(likeLines(60_000, seed), 1500, {
      PORT: String(port),
      FEEDGEN_PUBLISHER_DID: PUBLISHER_DID,
      // Two checks find a lost snapshot; a new generation's first one uploads within them.
      LITESTREAM_SNAPSHOT_CHECK_MS: '2000',
      LITESTREAM_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
    });
    const primary = startPrimary(env);
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(base, 60_000, 'primary ready', primary);
    const prefix = env.LITESTREAM_PATH!;
    await waitFor(
      () => ((maxLikeId(dbPath) ?? 0) > 3000 && objectsUnder(suite.s3(), prefix).snapshots.length > 0 ? true : undefined),
      60_000,
      'ingest under way and a snapshot in the bucket',
    );
    const watch = watchServing(base, FEED_URI, dbPath, primary.child.pid!);
    return { replay, env, dbPath, primary, base, prefix, watch };
  };

  /** SIGTERM to the launcher alone (as Fly sends it); then the bucket must restore exactly the file's likes. */
  const stopAndRestore = async (primary: Primary, env: Record<string, string>, dbPath: string, name: string) => {
    primary.child.kill('SIGTERM');
    expect(await primary.exited, primary.output().slice(-3000)).toBe(0);
    const restored = await restoreFrom(env, path.join(suite.tempDir(), name));
    expect(likesIn(restored.output)).toEqual(likesIn(dbPath));
  };

  it('the snapshot guard starts a new generation without touching the service: HTTP and ingest go on', async () => {
    const { replay, env, dbPath, primary, prefix, watch } = await startStreaming(31);
    const s3 = suite.s3();
    const launcherPid = primary.child.pid!;
    const oldGenerations = objectsUnder(s3, prefix).generations;
    const oldLitestream = primaryProcesses(launcherPid).litestream;
    await sleep(1000);

    wipePrefix(s3, prefix);
    const wipedAt = Date.now();
    // Nothing replicates from the old Litestream's exit to the new generation's first snapshot.
    const downAt = await waitFor(() => (primaryProcesses(launcherPid).litestream !== oldLitestream ? Date.now() : undefined), 30_000, 'the guard stopping Litestream', 20);
    const newSnapshot = () => objectsUnder(s3, prefix).snapshots.some((key) => !oldGenerations.includes(key.split('/')[0]!));
    const snapshotAt = await waitFor(() => (newSnapshot() ? Date.now() : undefined), 30_000, "the new generation's snapshot", 20);
    await sleep(3000);
    const figures = await watch.stop();
    console.log(`snapshot guard restart: Litestream stopped ${downAt - wipedAt} ms after the wipe; no replication for ${snapshotAt - downAt} ms (stop → new snapshot uploaded); ${describeFigures(figures)}`);

    expect(figures.servicePids).toHaveLength(1);
    expect(primaryProcesses(launcherPid).service).toBe(figures.servicePids[0]);
    expect(figures.healthDownMs).toBe(0);
    expect(figures.feedDownMs).toBe(0);
    expect(figures.ingestStallMs).toBeLessThan(3000);
    await stopAndRestore(primary, env, dbPath, 'new-generation.db');
    await replay.close();
    expect(objectsUnder(s3, prefix).generations.filter((g) => !oldGenerations.includes(g))).toHaveLength(1);
  }, 120_000);

  it('a Litestream that dies is restarted and counted; the service is not touched', async () => {
    const { replay, env, dbPath, primary, base, watch } = await startStreaming(32);
    const launcherPid = primary.child.pid!;
    const { litestream: first, service } = primaryProcesses(launcherPid);
    process.kill(first!, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(
      () => {
        const now = primaryProcesses(launcherPid).litestream;
        return now !== undefined && now !== first ? true : undefined;
      },
      30_000,
      'Litestream restarted',
    );
    const restartedAt = Date.now();
    const restarts = () => fetch(`${base}/metrics`).then(async (r) => metricValue(await r.text(), 'feedgen_litestream_restarts_total'));
    await waitFor(async () => ((await restarts()) >= 1 ? true : undefined), 15_000, 'the restart counted in /metrics');
    await sleep(2000);
    const figures = await watch.stop();
    console.log(`Litestream SIGKILLed: restarted after ${restartedAt - killedAt} ms; ${describeFigures(figures)}`);

    expect(figures.servicePids).toEqual([service]);
    expect(figures.healthDownMs).toBe(0);
    expect(figures.feedDownMs).toBe(0);
    await stopAndRestore(primary, env, dbPath, 'after-crash.db');
    await replay.close();
  }, 120_000);

  it("a service that dies ends the launcher with its code, after Litestream's final sync", async () => {
    const { replay, env, dbPath, primary, watch } = await startStreaming(33);
    await watch.stop();
    const { litestream, service } = primaryProcesses(primary.child.pid!);
    process.kill(service!, 'SIGKILL');
    expect(await primary.exited, primary.output().slice(-3000)).toBe(128 + 9);
    await replay.close();
    expect(() => process.kill(litestream!, 0)).toThrow(); // stopped, not left replicating
    const restored = await restoreFrom(env, path.join(suite.tempDir(), 'after-service-crash.db'));
    expect(likesIn(restored.output)).toEqual(likesIn(dbPath));
  }, 120_000);
});
