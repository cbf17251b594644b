/**
 * SIGKILL of the whole primary (launcher, Litestream, service) at random moments while it
 * ingests, each time restarted on the same data folder: the end state must equal a clean
 * run of the same stream, and so must a restore from the bucket.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Node, restartNode, startNode, waitReady } from '../../testkit/processes/cluster.js';
import { restoreFrom } from '../../testkit/processes/primary.js';
import { seeded } from '../../testkit/random.js';
import { metricValue } from '../../testkit/metrics/prometheus.js';
import { waitFor } from '../../testkit/polling/wait-for.js';
import { framesSentFor, startJetstreamReplay } from '../../testkit/standins/jetstream-server.js';
import { WANTED_COLLECTIONS } from '../../src/ingest/events.js';
import { startS3Server } from '../../testkit/standins/s3-server.js';
import { type ChaosScenario, Checks } from './outcome.js';
import { chaosStream, disorderUsOf } from './support/chaos-stream.js';
import { cleanRun } from './support/clean-run.js';
import { contentDiff, dbContent, likeRowCount, liveLikes, newestCommittedUs } from './support/db-content.js';
import { medianMax, seconds } from './support/duration-figures.js';
import { tryRead, waitQuiet } from './support/poll-waits.js';
import { checkResume } from './support/resume-cursor.js';

const SIZES = {
  ci: { kills: 5, likes: 20_000 },
  full: { kills: 20, likes: 80_000 },
} as const;
/** Slow enough that every kill lands mid-stream, whatever a restart costs on a loaded machine. */
const RATE_PER_S = 1500;
/** A kill comes this long after the restarted primary is ready and ingesting again. */
const KILL_AFTER_MS = { min: 200, max: 2500 };
const READY_TIMEOUT_MS = 120_000;

export const primaryKill: ChaosScenario = {
  name: 'primary-kill',
  summary: 'SIGKILL of the whole primary process group at random moments during ingest, restarted each time',
  inCi: true,
  async run(ctx) {
    const { kills, likes } = SIZES[ctx.size];
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 1e9));
    const random = seeded(seed);
    const checks = new Checks(`SIGKILL of the primary group x${kills}`);
    ctx.log(`seed ${seed} (CHAOS_SEED=${seed} repeats these kill moments)`);

    // 1. The reference: the same stream ingested once, without faults.
    const lines = chaosStream(seed % 0xffff_ffff, likes);
    const disorderUs = disorderUsOf(lines);
    ctx.log(`clean run of ${lines.length} lines...`);
    const expected = await cleanRun(lines, ctx.tempDir());
    const expectedLive = liveLikes(expected);

    // 2. The production shape: launcher + Litestream + service, into the S3 stand-in, fed at a steady rate.
    const s3 = await startS3Server();
    const replay = await startJetstreamReplay({ lines, ratePerSec: RATE_PER_S });
    const env = { ...s3.env(), DATA_DIR: ctx.tempDir(), JETSTREAM_URL: `${replay.url}/subscribe`, LITESTREAM_PATH: 'primary-kill' };
    const dbPath = path.join(env.DATA_DIR, 'feed.db');
    const { lastLine } = framesSentFor(lines, WANTED_COLLECTIONS);
    const streamDone = () => replay.connectionLog().some((c) => c.lastLine === lastLine);

    const recoverMs: number[] = [];
    const rewound: number[] = [];
    const resumeProblems: string[] = [];
    const lossProblems: string[] = [];
    const rowsAtKill: number[] = [];
    let lateKills = 0;
    let node: Node | undefined;
    try {
      let committedAtKill = { rows: 0, newestUs: 0 };
      for (let run = 0; run <= kills; run++) {
        // 3. Start (or restart on the same folder), and time the recovery: ready, and likes growing again.
        const connectionsBefore = replay.connectionLog().length;
        const startedAt = Date.now();
        node = run === 0 ? await startNode('ams', env) : restartNode(node!);
        const current = node;
        const readyAt = await waitReady(current, READY_TIMEOUT_MS).then(() => Date.now());
        const movingAt = await waitFor(
          () => {
            if (current.process.child.exitCode !== null) throw new Error(`primary exited:\n${current.process.output().slice(-2000)}`);
            const rows = tryRead(() => likeRowCount(dbPath)) ?? 0;
            return rows > committedAtKill.rows || streamDone() ? Date.now() : undefined;
          },
          READY_TIMEOUT_MS,
          `ingest moving again after restart ${run}`,
        );
        if (run > 0) {
          recoverMs.push(Math.max(readyAt, movingAt) - startedAt);
          const rowsNow = likeRowCount(dbPath);
          if (rowsNow < committedAtKill.rows) lossProblems.push(`restart ${run}: ${rowsNow} like rows < ${committedAtKill.rows} at the kill`);
          const resume = checkResume(replay.connectionLog()[connectionsBefore]?.cursor, committedAtKill.newestUs, disorderUs);
          rewound.push(resume.rewoundSeconds);
          if (resume.problem) resumeProblems.push(`restart ${run}: ${resume.problem}`);
        }
        if (run === kills) break;

        // 4. Kill the whole group at a random moment, mid-stream.
        await sleep(KILL_AFTER_MS.min + random() * (KILL_AFTER_MS.max - KILL_AFTER_MS.min));
        if (streamDone()) lateKills++;
        current.process.killAll();
        await current.process.exited;
        committedAtKill = { rows: likeRowCount(dbPath), newestUs: newestCommittedUs(dbPath) };
        rowsAtKill.push(committedAtKill.rows);
        ctx.log(`kill ${run + 1}/${kills}: ${committedAtKill.rows} like rows committed`);
      }

      checks.check(
        'every kill landed mid-ingest; no committed like row lost across a restart',
        lateKills === 0 && lossProblems.length === 0 && rowsAtKill.every((rows, i) => i === 0 || rows >= rowsAtKill[i - 1]!),
        lateKills > 0 ? `${lateKills} kills after the stream ended` : (lossProblems[0] ?? `${kills} kills at ${rowsAtKill.join(', ')} like rows; seed ${seed}`),
      );
      checks.check(
        'each restart resumes at/before the newest committed event, within rewind + disorder',
        resumeProblems.length === 0,
        resumeProblems[0] ?? `rewound ${Math.min(...rewound).toFixed(1)}-${Math.max(...rewound).toFixed(1)} s of stream time`,
      );
      checks.check('recovered after every kill: /xrpc/_health ready and likes growing again', recoverMs.length === kills, `recover ${medianMax(recoverMs)}`);

      // 5. Let the last run consume the stream, then compare with the clean run.
      ctx.log('waiting for the stream to be consumed...');
      await waitFor(() => (streamDone() ? true : undefined), (lines.length / RATE_PER_S) * 1000 + 120_000, 'the whole stream to be sent');
      await waitQuiet(dbPath, 1500, 60_000);
      const actual = dbContent(dbPath);
      const live = liveLikes(actual);
      const metrics = await (await fetch(`${node!.url}/metrics`)).text();
      const likesMetric = metricValue(metrics, 'feedgen_likes');
      checks.check(
        'final live likes equal the clean run (nothing lost)',
        JSON.stringify(live) === JSON.stringify(expectedLive) && likesMetric === expectedLive.length,
        `${live.length} live likes (clean ${expectedLive.length}), feedgen_likes ${likesMetric}`,
      );
      const diff = contentDiff(actual, expected);
      checks.check(
        'nothing duplicated or revived: every table equals the clean run, meta live count = live rows',
        diff === '',
        diff || `${actual.likes.length} like rows incl. ${actual.likes.length - live.length} unliked, ${actual.changes.length} changes`,
      );

      // 6. A graceful stop syncs the last of the WAL; the bucket must then hold the same.
      node!.process.child.kill('SIGTERM');
      const exitCode = await node!.process.exited;
      const restoreStarted = Date.now();
      const restored = await restoreFrom(env, path.join(ctx.tempDir(), 'restored.db'));
      const restoredDiff = contentDiff(dbContent(restored.output), expected);
      checks.check(
        'restore from the bucket equals the clean run',
        exitCode === 0 && restoredDiff === '',
        exitCode !== 0 ? `primary exited ${exitCode} on SIGTERM` : restoredDiff || `restored in ${seconds(Date.now() - restoreStarted)} s`,
      );
    } catch (err) {
      checks.threw(err);
    } finally {
      node?.process.killAll();
      await replay.close();
      await s3.close();
    }
    return checks.rows;
  },
};
