/**
 * The Jetstream connection dropped, stalled (no frames, no close) and slowed down, with a
 * host that upgrades and never sends and one that never answers the upgrade in the list:
 * the service (alone, no Litestream) must fail over, resume from its cursor, and end with
 * the same data as a clean run.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnService, type TsChild } from '../../testkit/processes/child-service.js';
import { metricValue } from '../../testkit/metrics/prometheus.js';
import { waitFor } from '../../testkit/polling/wait-for.js';
import { freePort } from '../../testkit/processes/processes.js';
import { framesSentFor, type JetstreamReplayServer } from '../../testkit/standins/jetstream-server.js';
import { WANTED_COLLECTIONS } from '../../src/ingest/events.js';
import { type ChaosContext, type ChaosScenario, Checks } from './outcome.js';
import { chaosStream, disorderUsOf } from './support/chaos-stream.js';
import { cleanRun } from './support/clean-run.js';
import { contentDiff, dbContent, likeRowCount, liveLikes, newestCommittedUs } from './support/db-content.js';
import { medianMax, seconds } from './support/duration-figures.js';
import { type JetstreamHosts, latestConnection, startJetstreamHosts } from './support/jetstream-hosts.js';
import { tryRead, waitQuiet } from './support/poll-waits.js';
import { checkResume } from './support/resume-cursor.js';

const SIZES = {
  ci: { rounds: 1, likes: 10_000 },
  full: { rounds: 3, likes: 30_000 },
} as const;
const RATE_PER_S = 1000;
const STALL_TIMEOUT_MS = 2000;
/** Slow, but a frame every 25 ms: far inside the stall timeout, so no reason to reconnect. */
const SLOW_RATE_PER_S = 40;
const SLOW_FOR_MS = 5000;
/** Every wait below: generous, the machine is shared. */
const WAIT_MS = 60_000;
const SEED = 8088;

interface Run {
  ctx: ChaosContext;
  hosts: JetstreamHosts;
  service: TsChild;
  url: string;
  dbPath: string;
  disorderUs: number;
}

export const jetstreamFaults: ChaosScenario = {
  name: 'jetstream-faults',
  summary: 'Jetstream dropped, stalled and slowed; a silent host and a host that never answers the upgrade; fail-over and resume',
  inCi: true,
  async run(ctx) {
    const { rounds, likes } = SIZES[ctx.size];
    const dropped = new Checks('jetstream connection dropped');
    const stalled = new Checks('jetstream host stalled (no frames, no close)');
    const slowed = new Checks(`jetstream host slowed to ${SLOW_RATE_PER_S} events/s`);
    const overall = new Checks(`all of it, ${rounds} round(s)`);

    const lines = chaosStream(SEED, likes);
    ctx.log(`clean run of ${lines.length} lines...`);
    const expected = await cleanRun(lines, ctx.tempDir());

    const hosts = await startJetstreamHosts(lines, RATE_PER_S);
    const dataDir = ctx.tempDir();
    const port = await freePort();
    const service = spawnService({
      DATA_DIR: dataDir,
      PORT: String(port),
      JETSTREAM_URL: hosts.urlList,
      JETSTREAM_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS),
      JETSTREAM_RECONNECT_MIN_MS: '50',
      JETSTREAM_RECONNECT_MAX_MS: '500',
      INGEST_BATCH_WAIT_MS: '20',
    });
    const run: Run = { ctx, hosts, service, url: `http://127.0.0.1:${port}`, dbPath: path.join(dataDir, 'feed.db'), disorderUs: disorderUsOf(lines) };
    const drops: PhaseResult[] = [];
    const stalls: PhaseResult[] = [];
    const slows: SlowResult[] = [];
    try {
      await likeRowsAbove(run, 1000, 'ingest under way on the first host');
      for (let round = 1; round <= rounds; round++) {
        ctx.log(`round ${round}/${rounds}: drop`);
        drops.push(await dropFirstHost(run));
        await likeRowsAbove(run, likeRowCount(run.dbPath) + 500, 'ingest under way on the second host');
        ctx.log(`round ${round}/${rounds}: stall`);
        stalls.push(await stallSecondHost(run));
        await likeRowsAbove(run, likeRowCount(run.dbPath) + 500, 'ingest under way on the first host again');
        ctx.log(`round ${round}/${rounds}: slow`);
        slows.push(await slowFirstHost(run));
      }

      const failed = (results: PhaseResult[]) => results.find((r) => r.problem)?.problem;
      const rewound = (results: PhaseResult[]) => `rewound ${Math.max(...results.map((r) => r.rewoundSeconds)).toFixed(1)} s max`;
      dropped.check(
        'tries the silent host, fails over to the next one, resumes at/before the newest committed event',
        !failed(drops),
        failed(drops) ?? `fail-over ${medianMax(drops.map((r) => r.failoverMs))} (through a ${seconds(STALL_TIMEOUT_MS)} s silent host); ${rewound(drops)}`,
      );
      stalled.check(
        'stall detected, the host without a handshake skipped, fail-over, resume at/before the newest committed event',
        !failed(stalls),
        failed(stalls) ??
          `detect ${medianMax(stalls.map((r) => r.detectMs!))}; fail-over ${medianMax(stalls.map((r) => r.failoverMs))}; ${rewound(stalls)}`,
      );
      const slowProblem = slows.find((r) => r.problem)?.problem;
      slowed.check(
        'keeps the connection (no reconnect) and keeps storing likes',
        !slowProblem,
        slowProblem ??
          `${slows.map((r) => r.eventsPerSecond.toFixed(0)).join(', ')} events/s sent, ${slows.map((r) => r.likesPerSecond.toFixed(0)).join(', ')} likes/s stored while slowed`,
      );

      // The end: the rest of the stream at full speed, then the same data as the clean run.
      ctx.log('waiting for the stream to be consumed...');
      await waitFor(() => (hosts.streamSent(framesSentFor(lines, WANTED_COLLECTIONS).lastLine) ? true : undefined), (lines.length / RATE_PER_S) * 1000 + WAIT_MS, 'the whole stream to be sent');
      await waitQuiet(run.dbPath, 1500, WAIT_MS);
      const actual = dbContent(run.dbPath);
      const diff = contentDiff(actual, expected);
      overall.check(
        'final like set equals the clean run: nothing lost, nothing duplicated (every table, meta live count)',
        diff === '',
        diff || `${liveLikes(actual).length} live likes, ${actual.likes.length} like rows`,
      );
      overall.check(...(await connectionCounts(run, rounds)));
    } catch (err) {
      overall.threw(err);
    } finally {
      service.killAll();
      await hosts.closeAll();
    }
    return [...dropped.rows, ...stalled.rows, ...slowed.rows, ...overall.rows];
  },
};

interface PhaseResult {
  failoverMs: number;
  detectMs?: number;
  rewoundSeconds: number;
  problem?: string;
}

/** Drops the first host's connection: the service goes on to the silent host, then to the second host. */
async function dropFirstHost(run: Run): Promise<PhaseResult> {
  const { hosts } = run;
  const silentBefore = hosts.silent.connectionLog().length;
  const secondBefore = hosts.second.connectionLog().length;
  const faultAt = Date.now();
  hosts.first.dropConnections();

  // While the silent host holds the service, nothing new arrives: what is committed is final.
  await waitWhileRunning(run, () => hosts.silent.connectionLog().length > silentBefore, 'a connection to the silent host');
  await waitQuiet(run.dbPath, 300, WAIT_MS);
  const newestUs = newestCommittedUs(run.dbPath);
  const next = await firstFrameOn(run, hosts.second, secondBefore);
  const silentCursor = hosts.silent.connectionLog()[silentBefore]!.cursor;
  const resume = checkResume(next.cursor, newestUs, run.disorderUs);
  const problem =
    resume.problem ?? (silentCursor !== next.cursor ? `cursor changed between the silent host (${silentCursor}) and the next (${next.cursor})` : undefined);
  return { failoverMs: next.firstFrameAt! - faultAt, rewoundSeconds: resume.rewoundSeconds, problem };
}

/** Stalls the second host: the service must notice, skip the host that never answers the upgrade, and go back to the first. */
async function stallSecondHost(run: Run): Promise<PhaseResult> {
  const { hosts } = run;
  const stalledConnection = hosts.second.connectionLog().length - 1;
  const heldBefore = hosts.noHandshake.heldHandshakes();
  const firstBefore = hosts.first.connectionLog().length;
  const faultAt = Date.now();
  hosts.second.setFault({ kind: 'stall' });
  try {
    const closedAt = await waitWhileRunning(run, () => hosts.second.connectionLog()[stalledConnection]!.closedAt, 'the stalled connection to be dropped');
    await waitWhileRunning(run, () => hosts.noHandshake.heldHandshakes() > heldBefore, 'a connection to the host without a handshake');
    await waitQuiet(run.dbPath, 300, WAIT_MS);
    const newestUs = newestCommittedUs(run.dbPath);
    const next = await firstFrameOn(run, hosts.first, firstBefore);
    const resume = checkResume(next.cursor, newestUs, run.disorderUs);
    const detectMs = closedAt - faultAt;
    // The service must wait out its stall timeout (not drop a healthy connection early) and then act.
    const early = detectMs < STALL_TIMEOUT_MS * 0.9 ? `stall "detected" after ${detectMs} ms, before the ${STALL_TIMEOUT_MS} ms timeout` : undefined;
    return { failoverMs: next.firstFrameAt! - faultAt, detectMs, rewoundSeconds: resume.rewoundSeconds, problem: early ?? resume.problem };
  } finally {
    hosts.second.setFault(undefined);
  }
}

interface SlowResult {
  eventsPerSecond: number;
  likesPerSecond: number;
  problem?: string;
}

/** Slows the first host well below its rate, but not to a stall: the connection must hold. */
async function slowFirstHost(run: Run): Promise<SlowResult> {
  const { hosts } = run;
  const connections = () => [hosts.first, hosts.silent, hosts.second].map((h) => h.connectionLog().length).join(',') + `,${hosts.noHandshake.heldHandshakes()}`;
  const before = connections();
  const framesBefore = latestConnection(hosts.first)!.framesSent;
  const rowsBefore = likeRowCount(run.dbPath);
  const startedAt = Date.now();
  hosts.first.setFault({ kind: 'slow', ratePerSec: SLOW_RATE_PER_S });
  await sleep(SLOW_FOR_MS);
  const frames = latestConnection(hosts.first)!.framesSent - framesBefore;
  const elapsedS = (Date.now() - startedAt) / 1000;
  const after = connections();
  const rowsGained = likeRowCount(run.dbPath) - rowsBefore;
  hosts.first.setFault(undefined);

  let problem: string | undefined;
  if (after !== before) problem = `reconnected while slowed (connections ${before} -> ${after})`;
  else if (rowsGained <= 0) problem = 'no like stored while slowed';
  return { eventsPerSecond: frames / elapsedS, likesPerSecond: rowsGained / elapsedS, problem };
}

/** feedgen_jetstream_connections_total per host must match what each stand-in saw. */
async function connectionCounts(run: Run, rounds: number): Promise<[string, boolean, string]> {
  const { hosts } = run;
  const text = await (await fetch(`${run.url}/metrics`)).text();
  const counted = (host: JetstreamReplayServer) => metricValue(text, 'feedgen_jetstream_connections_total', { host: hosts.label(host) });
  const seen = [hosts.first, hosts.silent, hosts.second].map((h) => h.connectionLog().length);
  const metric = [hosts.first, hosts.silent, hosts.second, hosts.noHandshake].map(counted);
  const held = hosts.noHandshake.heldHandshakes();
  const ok = seen.every((n, i) => n === metric[i]) && metric[3] === 0 && held >= rounds && seen[1]! >= rounds;
  return [
    'feedgen_jetstream_connections_total per host = connections each host saw (none for the host that never upgraded)',
    ok,
    `first ${metric[0]}/${seen[0]}, silent ${metric[1]}/${seen[1]}, second ${metric[2]}/${seen[2]}, no-handshake ${metric[3]} (held ${held}) (metric/seen)`,
  ];
}

/** The first connection after `before` on `host`, once it has delivered a frame. */
function firstFrameOn(run: Run, host: JetstreamReplayServer, before: number) {
  return waitWhileRunning(run, () => {
    const connection = host.connectionLog()[before];
    return connection?.firstFrameAt === undefined ? undefined : connection;
  }, `a connection to ${host.url} delivering frames`);
}

/** Resolves with a truthy value of `check`; fails early if the service exited. */
function waitWhileRunning<T>(run: Run, check: () => T | undefined | false, what: string): Promise<T> {
  return waitFor(
    () => {
      if (run.service.child.exitCode !== null) throw new Error(`service exited:\n${run.service.output().slice(-2000)}`);
      const value = check();
      return value === false ? undefined : value;
    },
    WAIT_MS,
    what,
  );
}

async function likeRowsAbove(run: Run, rows: number, what: string): Promise<void> {
  await waitWhileRunning(run, () => ((tryRead(() => likeRowCount(run.dbPath)) ?? 0) > rows ? true : undefined), what);
}
