/**
 * Replica faults: a primary (a launcher running Litestream beside the service) ingesting,
 * and one read replica following the S3 stand-in, read continuously over HTTP. In turn:
 * the database's objects vanish from the bucket (the primary restarts Litestream alone on
 * a new generation, its service serving throughout); the replica's data folder is wiped while
 * it runs, then while it is stopped; the primary comes back on a fresh volume (restored
 * from the bucket: a new generation). Expected: the replica recovers by itself (lag
 * under MAX_REPLICA_LAG, the primary's rows in the end), no read ever sees a
 * half-applied copy (every answer a well-formed skeleton, a fly-replay or a 503), and
 * the copy at rest passes integrity_check at every checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { readFollowState } from '../../src/replication/follower/position-file.js';
import { LikerCounter } from '../../testkit/dataset/demo-stream.js';
import { startJetstreamReplay } from '../../testkit/standins/jetstream-server.js';
import { startPlcDirectory } from '../../testkit/standins/plc-directory.js';
import { startS3Server } from '../../testkit/standins/s3-server.js';
import { healthOf } from '../../testkit/processes/health.js';
import { clusterEnv, maxLikeId, type Node, restartNode, startNode, tablesIn, waitReady } from '../../testkit/processes/cluster.js';
import { FEED_URI, registerUser } from '../../testkit/processes/feed-service.js';
import { likeIds, likeLines, restoreFrom } from '../../testkit/processes/primary.js';
import { primaryProcesses } from '../../testkit/processes/process-tree.js';
import { watchServing } from '../../testkit/processes/serving-watch.js';
import { waitFor } from '../../testkit/polling/wait-for.js';
import { type ChaosScenario, Checks, errorFigure } from './outcome.js';
import { objectsUnder, wipePrefix } from '../../testkit/standins/bucket-prefix.js';
import { checkRestingCopy } from './support/quiescent-copy.js';
import { keepReadingReplica } from './support/replica-reads.js';

const MAX_LAG_S = 6;
/** The primary's ingest while Litestream restarts: batches commit every few hundred ms. */
const MAX_INGEST_STALL_MS = 3000;
const SIZES = {
  ci: { likes: 200_000, rate: 800, recoverMs: 90_000, selfHealMs: 60_000 },
  full: { likes: 600_000, rate: 2000, recoverMs: 180_000, selfHealMs: 120_000 },
};

export const replicaFaults: ChaosScenario = {
  name: 'replica-faults',
  summary: 'bucket objects deleted, replica folder wiped (running and stopped), new generation under a following replica',
  inCi: true,
  async run(ctx) {
    const size = SIZES[ctx.size];
    const scratch = ctx.tempDir();
    const s3 = await startS3Server({ directory: path.join(ctx.tempDir(), 's3') });
    const plc = await startPlcDirectory();
    const lines = likeLines(size.likes, 91);
    const likers = new LikerCounter();
    lines.forEach((line) => likers.add(line));
    const replay = await startJetstreamReplay({ lines, ratePerSec: size.rate });
    const litestreamPath = 'chaos-replica';
    const common = {
      ...s3.env(),
      LITESTREAM_PATH: litestreamPath,
      ...clusterEnv(plc, MAX_LAG_S),
      // The primary's check that the bucket still holds a snapshot of its generation: fast here.
      LITESTREAM_SNAPSHOT_CHECK_MS: '2000',
    };
    let primary = await startNode('ams', { ...common, DATA_DIR: ctx.tempDir(), JETSTREAM_URL: `${replay.url}/subscribe` });
    let replica: Node | undefined;
    let replicaDown = false;
    const rows: Checks[] = [];
    try {
      await waitReady(primary, 60_000);
      await waitFor(() => ((maxLikeId(primary.dbPath) ?? 0) > 3000 ? true : undefined), 60_000, 'primary ingesting');
      replica = await startNode('sin', { ...common, DATA_DIR: ctx.tempDir() });
      await waitReady(replica, 90_000);
      // The stream's most active liker: a reader whose feed is a real ranking, not the cold-start list.
      const user = await registerUser(plc, likers.top(1)[0]!);
      const reads = keepReadingReplica(() => replica!.url, user, 150, () => replicaDown);
      ctx.log('primary and replica up; reads going');

      /** The replica is healthy again: ready, lag under the bound, and holding rows the primary had after the fault. */
      const recovered = async (what: string) => {
        const target = maxLikeId(primary.dbPath) ?? 0;
        const started = Date.now();
        await waitFor(
          async () => {
            if (replica!.process.child.exitCode !== null) throw new Error(`replica exited:\n${replica!.process.output().slice(-1500)}`);
            const health = await healthOf(replica!.url);
            return health?.ready && (health.lag_seconds ?? Infinity) < MAX_LAG_S && (maxLikeId(replica!.dbPath) ?? 0) >= target ? health : undefined;
          },
          size.recoverMs,
          `replica recovered after ${what}`,
        ).catch(() => undefined);
        const health = await healthOf(replica!.url);
        const ok = Boolean(health?.ready && (health.lag_seconds ?? Infinity) < MAX_LAG_S && (maxLikeId(replica!.dbPath) ?? 0) >= target);
        return { ok, seconds: (Date.now() - started) / 1000, lag: health?.lag_seconds ?? null };
      };
      /** Runs one fault, its rows under `name`; an exception (a node that never came back) becomes a failed row. */
      const phase = async (name: string, fault: (checks: Checks) => Promise<void>) => {
        const checks = new Checks(name);
        rows.push(checks);
        try {
          await fault(checks);
        } catch (err) {
          checks.check('the fault ran to its end', false, errorFigure(err).slice(0, 400));
        }
      };
      /** The node killed, its folder emptied (a fresh volume), and started again on it. */
      const restartEmpty = async (node: Node) => {
        node.process.killAll();
        await node.process.exited;
        wipeContents(node.env.DATA_DIR!);
        return restartNode(node);
      };
      const resting = async (checks: Checks) => {
        const copy = await checkRestingCopy(replica!.dbPath, scratch).catch((err: Error) => ({ integrity: err.message, likes: -1, generation: '?' }));
        checks.check('the replica\'s copy at rest passes integrity_check', copy.integrity === 'ok', `${copy.likes} likes, generation ${copy.generation.slice(0, 6)}`);
      };

      // (a) The database's objects vanish from the bucket while the replica follows.
      await phase('bucket prefix deleted under a following replica', async (checks) => {
        const before = objectsUnder(s3, litestreamPath);
        const generationBefore = readFollowState(replica!.dbPath)?.position.generation;
        const launcherPid = primary.process.child.pid!;
        const oldLitestream = primaryProcesses(launcherPid).litestream;
        const serving = watchServing(primary.url, FEED_URI, primary.dbPath, launcherPid);
        ctx.log(`(a) deleting ${before.snapshots.length} snapshots and ${before.wal.length} WAL segments`);
        wipePrefix(s3, litestreamPath);
        const wipedAt = Date.now();
        // A snapshot of a generation that is not the one wiped (its WAL lost its start).
        const newSnapshot = () => objectsUnder(s3, litestreamPath).snapshots.some((key) => !before.generations.includes(key.split('/')[0]!));
        let litestreamDownAt: number | undefined;
        const snapshotBack = await waitFor(
          () => {
            if (litestreamDownAt === undefined && primaryProcesses(launcherPid).litestream !== oldLitestream) litestreamDownAt = Date.now();
            return newSnapshot() ? true : undefined;
          },
          size.selfHealMs,
          'a snapshot back',
        ).catch(() => false);
        const snapshotAt = Date.now();
        const after = objectsUnder(s3, litestreamPath);
        // Litestream 0.3.13 alone would go on uploading WAL that no restore can start from
        // (it snapshots a generation only when it starts one, or once an interval): the
        // launcher's snapshot guard restarts it on a new generation.
        checks.check(
          `the primary puts a new generation with a snapshot back by itself within ${size.selfHealMs / 1000} s (else a fresh volume cannot restore)`,
          snapshotBack === true,
          snapshotBack === true
            ? `snapshot back in ${((Date.now() - wipedAt) / 1000).toFixed(1)} s; generations ${before.generations.map((g) => g.slice(0, 6)).join(',')} → ${after.generations.map((g) => g.slice(0, 6)).join(',')}`
            : `none after ${((Date.now() - wipedAt) / 1000).toFixed(0)} s: ${after.wal.length} WAL segments, 0 snapshots in the bucket`,
        );
        await waitReady(primary, 120_000);
        await sleep(2000);
        const cost = await serving.stop();
        checks.check(
          "the primary restarts Litestream alone: its service keeps its pid, answers health and getFeedSkeleton throughout, and ingests",
          cost.servicePids.length === 1 && cost.healthDownMs === 0 && cost.feedDownMs === 0 && cost.ingestStallMs < MAX_INGEST_STALL_MS,
          `no replication for ${litestreamDownAt === undefined ? '?' : ((snapshotAt - litestreamDownAt) / 1000).toFixed(1)} s (Litestream stopped → new snapshot); HTTP unanswered ${cost.healthDownMs} ms (health), ${cost.feedDownMs} ms (feed); longest ingest stall ${cost.ingestStallMs} ms; service pids ${cost.servicePids.length}`,
        );
        const back = await recovered('the bucket wipe');
        checks.check('the replica recovers by itself (ready, lag < MAX_REPLICA_LAG, rows past the fault)', back.ok, `in ${back.seconds.toFixed(1)} s, lag ${back.lag?.toFixed(1)} s, generation ${generationBefore?.slice(0, 6)} → ${readFollowState(replica!.dbPath)?.position.generation.slice(0, 6)}`);
        await resting(checks);
        // What a new machine (or a rollback) would restore from the bucket now.
        const restored = path.join(scratch, 'after-wipe.db');
        const target = likeIds(primary.dbPath).length;
        await sleep(3000); // a couple of sync intervals
        const restore = await restoreFrom(primary.env, restored).then(
          () => ({ likes: likeIds(restored).length, error: '' }),
          (err: Error) => ({ likes: 0, error: err.message.slice(0, 160) }),
        );
        checks.check(
          'a restore from the bucket after the wipe holds the primary\'s likes',
          restore.error === '' && restore.likes >= target,
          restore.error || `${restore.likes} likes restored, primary had ${target} before the restore`,
        );
        fs.rmSync(restored, { force: true });
      });

      // (c1) The replica's data folder wiped under it while it runs.
      await phase("replica's data folder wiped while it runs", async (checks) => {
        ctx.log('(c1) wiping the running replica\'s folder');
        wipeContents(replica!.env.DATA_DIR!);
        const back = await recovered('the wipe of its folder');
        checks.check('the replica recovers by itself', back.ok, `in ${back.seconds.toFixed(1)} s, lag ${back.lag?.toFixed(1)} s`);
        await resting(checks);
      });

      // (c2) The replica stopped, its folder wiped, started again.
      await phase("replica's data folder wiped while stopped", async (checks) => {
        ctx.log('(c2) stopping the replica, wiping its folder, starting it');
        replicaDown = true;
        replica = await restartEmpty(replica!);
        await waitFor(async () => ((await healthOf(replica!.url)) ? true : undefined), 60_000, 'replica answering').catch(() => undefined);
        replicaDown = false;
        const back = await recovered('a restart on an empty folder');
        checks.check('the replica restores and catches up by itself', back.ok, `in ${back.seconds.toFixed(1)} s, lag ${back.lag?.toFixed(1)} s`);
        await resting(checks);
      });

      // (b) The primary on a fresh volume: restored from the bucket at boot, a new generation.
      await phase('new generation under the replica (primary on a fresh volume)', async (checks) => {
        const generationBefore = readFollowState(replica!.dbPath)?.position.generation;
        ctx.log('(b) killing the primary, wiping its volume, starting it');
        primary = await restartEmpty(primary);
        await waitReady(primary, 120_000);
        await waitFor(() => (readFollowState(replica!.dbPath)?.position.generation !== generationBefore ? true : undefined), size.recoverMs, 'replica on the new generation').catch(() => undefined);
        const back = await recovered('the new generation');
        const generationAfter = readFollowState(replica!.dbPath)?.position.generation;
        checks.check(
          'the replica moves to the new generation and catches up by itself',
          back.ok && generationAfter !== generationBefore,
          `generation ${generationBefore?.slice(0, 6)} → ${generationAfter?.slice(0, 6)} in ${back.seconds.toFixed(1)} s`,
        );
        await resting(checks);
      });

      // The end: ingest stops; the replica must hold exactly the primary's tables.
      const end = new Checks('all faults, then ingest stopped');
      rows.push(end);
      await replay.close();
      const allReads = await reads.stop();
      const matched = await waitFor(
        () => {
          const [p, r] = [tablesIn(primary.dbPath), tablesIn(replica!.dbPath)];
          return p && r && isDeepStrictEqual(p, r) ? true : undefined;
        },
        size.recoverMs,
        'replica equal to the primary',
      ).catch(() => false);
      end.check('the replica ends with exactly the primary\'s tables (every row but the heartbeat)', matched === true, `${likeRows(primary.dbPath)} like rows on the primary, ${likeRows(replica.dbPath)} on the replica`);
      await resting(end);
      const counted = (outcome: string) => allReads.filter((r) => r.outcome === outcome && !r.whileDown).length;
      const bad = allReads.filter((r) => r.outcome === 'bad' && !r.whileDown);
      end.check(
        'no read saw a half-applied copy: every answer a well-formed skeleton, a fly-replay or a 503 (never a 500)',
        bad.length === 0 && counted('skeleton') > 0,
        `${allReads.length} reads: ${counted('skeleton')} skeletons, ${counted('replay')} replays, ${counted('unavailable')} 503s, ${bad.length} bad${bad.length ? ` (first: ${bad[0]!.detail})` : ''}; ${allReads.filter((r) => r.whileDown).length} while stopped on purpose`,
      );
      return rows.flatMap((c) => c.rows);
    } finally {
      primary.process.killAll();
      replica?.process.killAll();
      await replay.close().catch(() => undefined);
      await plc.close();
      await s3.close();
    }
  },
};

/** Like rows of a file, or "unreadable". */
function likeRows(dbPath: string): number | string {
  return tablesIn(dbPath)?.likes?.length ?? 'unreadable';
}

/** Removes everything inside a folder, the folder itself kept (a volume's mount point stays). */
function wipeContents(dir: string): void {
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}
