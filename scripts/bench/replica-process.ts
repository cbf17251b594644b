/**
 * A read replica as production runs it: the compiled launcher (`node dist/bin/launcher.js`)
 * with ROLE=replica, its own data folder and port, following the primary's bucket prefix
 * on the local S3 server. Its output goes to a log file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { metricTotal } from '../../testkit/metrics/prometheus.js';
import { waitHealthy } from '../../testkit/processes/health.js';
import { cpuSeconds, freePort, REPO_ROOT, stopChild } from '../../testkit/processes/processes.js';
import { track } from './restore-children.js';

export interface ReplicaOptions {
  dataDir: string;
  /** BUCKET_NAME and AWS_* of the local S3 server. */
  s3Env: Record<string, string>;
  /** The primary's LITESTREAM_PATH. */
  prefix: string;
  pollMs: number;
  logFile: string;
}

export interface ReplicaProcess {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** The copy the follower keeps. */
  dbPath: string;
  stop(): Promise<void>;
}

/** The follower's counters at one moment, and the process's CPU seconds so far. */
export interface FollowerCounters {
  cpuS: number;
  GET: number;
  LIST: number;
  appliedBytes: number;
  applySeconds: number;
  applies: number;
  followErrors: number;
}

export async function startReplica(options: ReplicaOptions): Promise<ReplicaProcess> {
  const port = await freePort();
  // The follower writes its restore beside feed.db and creates no folder (the primary's database layer does).
  mkdirSync(options.dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.s3Env,
    ROLE: 'replica',
    DATA_DIR: options.dataDir,
    PORT: String(port),
    LITESTREAM_PATH: options.prefix,
    REPLICA_POLL_MS: String(options.pollMs),
    LOG_LEVEL: 'info',
  };
  const child = track(spawn(process.execPath, [`${REPO_ROOT}dist/bin/launcher.js`], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const log = createWriteStream(options.logFile);
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once('close', () => log.end());
  return {
    child,
    pid: child.pid!,
    baseUrl: `http://127.0.0.1:${port}`,
    dbPath: path.join(options.dataDir, 'feed.db'),
    stop: async () => {
      await stopChild(child);
    },
  };
}

/** Resolves once /xrpc/_health says ready: the copy restored, caught up once, the like graph loaded. */
export async function waitUntilReady(replica: ReplicaProcess, timeoutMs: number): Promise<void> {
  await waitHealthy(replica.baseUrl, timeoutMs, 'the replica ready', { child: replica.child });
}

/** The replica's lag as it reports it (`now − heartbeat`), or undefined before its first heartbeat. */
export async function healthLagSeconds(replica: ReplicaProcess): Promise<number | undefined> {
  const health = (await fetch(`${replica.baseUrl}/xrpc/_health`).then((r) => r.json())) as { lag_seconds: number | null };
  return health.lag_seconds ?? undefined;
}

export async function readCounters(replica: ReplicaProcess): Promise<FollowerCounters> {
  const text = await fetch(`${replica.baseUrl}/metrics`).then((r) => r.text());
  return {
    cpuS: cpuSeconds(replica.pid),
    GET: metricTotal(text, 'feedgen_replica_store_requests', { class: 'GET' }),
    LIST: metricTotal(text, 'feedgen_replica_store_requests', { class: 'LIST' }),
    appliedBytes: metricTotal(text, 'feedgen_replica_applied_bytes_total'),
    applySeconds: metricTotal(text, 'feedgen_replica_apply_seconds_sum'),
    applies: metricTotal(text, 'feedgen_replica_apply_seconds_count'),
    followErrors: metricTotal(text, 'feedgen_replica_follow_errors_total'),
  };
}

/** `after − before`, field by field. */
export function counterDelta(before: FollowerCounters, after: FollowerCounters): FollowerCounters {
  const delta = { ...after };
  for (const key of Object.keys(delta) as Array<keyof FollowerCounters>) delta[key] -= before[key];
  return delta;
}
