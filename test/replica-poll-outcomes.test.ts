/**
 * The follower's polls, each counted by its outcome, against a file replica laid out as
 * Litestream lays it out, from a real SQLite database and its real WAL.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error -- untyped CommonJS module
import lz4js from 'lz4js';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics, type Metrics } from '../src/observability/metrics.js';
import { ReplicaLayout } from '../src/replication/bucket/layout.js';
import { FolderStore } from '../src/replication/bucket/object-store.js';
import { Follower, type FollowerOptions } from '../src/replication/follower/follower.js';
import { POLL_OUTCOMES, type PollOutcome } from '../src/replication/follower/poll-outcome.js';
import { metricValue, waitFor } from '../testkit/processes/service.js';
import { openWriter, withReader } from '../src/store/database.js';

const lz4 = (bytes: Buffer) => Buffer.from((lz4js as { compress(src: Uint8Array): Uint8Array }).compress(bytes));
const FIRST = '0123456789abcdef';
const SECOND = 'fedcba9876543210';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/**
 * A primary's database: its file once checkpointed (a snapshot), then its WAL after
 * `rows` more transactions (or one, with `oneTransaction`: rows of 2 KB, many pages),
 * cut into segments at commits as Litestream uploads them.
 */
function primaryHistory(rows: number, { oneTransaction = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedgen-outcomes-'));
  dirs.push(dir);
  const dbPath = path.join(dir, 'primary.db');
  const db = openWriter(dbPath, { busyTimeoutMs: 1000, walAutocheckpointPages: 0 });
  db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY, v TEXT)');
  db.prepare('INSERT INTO heartbeat VALUES (1, ?)').run(Date.now());
  db.pragma('wal_checkpoint(TRUNCATE)');
  const snapshot = fs.readFileSync(dbPath);
  db.prepare('INSERT INTO t (v) VALUES (?)').run('row 0');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const rest = () => {
    for (let i = 1; i < rows; i++) insert.run(oneTransaction ? `row ${i} ${'x'.repeat(2000)}` : `row ${i}`);
  };
  if (oneTransaction) db.transaction(rest)();
  else rest();
  const wal = fs.readFileSync(`${dbPath}-wal`);
  db.close();
  const frameBytes = 24 + wal.readUInt32BE(8);
  // Cut after the first commit frame: [header + first transaction, the rest].
  let cut = 32;
  while (wal.readUInt32BE(cut + 4) === 0) cut += frameBytes;
  cut += frameBytes;
  return { dir, snapshot, pageSize: frameBytes - 24, segments: [wal.subarray(0, cut), wal.subarray(cut)] };
}

function replicaFolder(dir: string) {
  const folder = path.join(dir, 'replica');
  const layout = new ReplicaLayout('');
  const write = (key: string, bytes: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(folder, key)), { recursive: true });
    fs.writeFileSync(path.join(folder, key), bytes);
  };
  return {
    folder,
    layout,
    snapshot: (generation: string, bytes: Buffer) => write(layout.snapshotKey(generation, 0), lz4(bytes)),
    segment: (generation: string, offset: number, compressed: Buffer) => write(layout.walKey({ generation, index: 0, offset }), compressed),
  };
}

/** A follower of `replica` into `dbPath`, polling every 20 ms; `options` override the rest. */
function followerOf(replica: ReturnType<typeof replicaFolder>, dbPath: string, metrics: Metrics, options: Partial<FollowerOptions> = {}): Follower {
  return new Follower({
    store: new FolderStore(replica.folder),
    layout: replica.layout,
    dbPath,
    log: createLogger('silent'),
    metrics,
    pollMs: 20,
    stallMs: 60_000,
    minCheckpointPages: 1000,
    ...options,
  });
}

async function outcomes(metrics: Metrics): Promise<Record<PollOutcome, number>> {
  const text = await metrics.registry.metrics();
  return Object.fromEntries(POLL_OUTCOMES.map((outcome) => [outcome, metricValue(text, 'feedgen_replica_polls_total', { outcome })])) as Record<PollOutcome, number>;
}

function rowsIn(dbPath: string): number {
  return withReader(dbPath, (db) => db.prepare('SELECT count(*) FROM t').pluck().get() as number);
}

/** A bucket holding FIRST's snapshot and first segment of `rows` rows, with a copy's path and metrics to follow it. */
function firstGeneration(rows: number) {
  const history = primaryHistory(rows);
  const replica = replicaFolder(history.dir);
  replica.snapshot(FIRST, history.snapshot);
  replica.segment(FIRST, 0, lz4(history.segments[0]!));
  return { history, replica, metrics: createMetrics(), dbPath: path.join(history.dir, 'copy', 'feed.db') };
}

describe('follower poll outcomes', () => {
  it('counts applied, nothing_new, a damaged segment (also a follow error) and a new generation, each under its name', async () => {
    const { history, replica, metrics, dbPath } = firstGeneration(20);
    let restored = 0;
    const follower = followerOf(replica, dbPath, metrics, { stallMs: 200, onRestored: () => restored++ });
    await follower.bootstrap(); // the snapshot and the first segment
    expect(rowsIn(dbPath)).toBe(1);
    follower.start();
    try {
      await waitFor(async () => ((await outcomes(metrics)).nothing_new > 0 ? true : undefined), 10_000, 'a poll finding nothing new');
      expect(follower.caughtUp()).toBe(true);

      // The next segment, torn as an object read mid-upload: refused, counted, retried.
      const next = lz4(history.segments[1]!);
      const offset = history.segments[0]!.length;
      replica.segment(FIRST, offset, next.subarray(0, Math.floor(next.length / 2)));
      await waitFor(async () => ((await outcomes(metrics)).segment_damaged > 0 ? true : undefined), 10_000, 'the torn segment refused');
      expect(metricValue(await metrics.registry.metrics(), 'feedgen_replica_follow_errors_total')).toBeGreaterThan(0);
      expect(rowsIn(dbPath)).toBe(1);
      expect((await outcomes(metrics)).applied).toBe(0);

      replica.segment(FIRST, offset, next);
      await waitFor(async () => ((await outcomes(metrics)).applied > 0 ? true : undefined), 10_000, 'the whole segment applied');
      expect(rowsIn(dbPath)).toBe(20);
      expect(follower.position).toEqual({ generation: FIRST, index: 0, offset: offset + history.segments[1]!.length });

      // A newer snapshot in another generation: after a stall period, restored in its place.
      const other = primaryHistory(5);
      const secondSnapshot = path.join(replica.folder, replica.layout.snapshotKey(SECOND, 0));
      replica.snapshot(SECOND, other.snapshot);
      fs.utimesSync(secondSnapshot, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
      await waitFor(async () => ((await outcomes(metrics)).new_generation > 0 ? true : undefined), 10_000, 'the new generation restored');
      expect(restored).toBe(1);
      expect(follower.position?.generation).toBe(SECOND);
      expect(rowsIn(dbPath)).toBe(0);
    } finally {
      follower.stop();
    }
    const counted = await outcomes(metrics);
    expect(counted).toMatchObject({ file_missing: 0, retention_gap: 0, store_error: 0, restore_failed: 0, apply_failed: 0, unexpected: 0 });
  });

  it('joins a transaction that Litestream uploaded in two segments, waiting for the second', async () => {
    const history = primaryHistory(40, { oneTransaction: true });
    const replica = replicaFolder(history.dir);
    replica.snapshot(FIRST, history.snapshot);
    replica.segment(FIRST, 0, lz4(history.segments[0]!));
    const metrics = createMetrics();
    const dbPath = path.join(history.dir, 'copy', 'feed.db');
    const follower = followerOf(replica, dbPath, metrics);
    await follower.bootstrap();
    expect(rowsIn(dbPath)).toBe(1);
    // The big transaction, cut in the middle of its frames, as a sync can cut a copy under way.
    const big = history.segments[1]!;
    const frameBytes = 24 + history.pageSize;
    const frames = big.length / frameBytes;
    expect(frames).toBeGreaterThan(10);
    const cut = Math.floor(frames / 2) * frameBytes;
    const offset = history.segments[0]!.length;
    replica.segment(FIRST, offset, lz4(big.subarray(0, cut)));
    follower.start();
    try {
      await waitFor(async () => ((await outcomes(metrics)).nothing_new > 2 ? true : undefined), 10_000, 'polls finding the transaction incomplete');
      expect(rowsIn(dbPath)).toBe(1);
      replica.segment(FIRST, offset + cut, lz4(big.subarray(cut)));
      await waitFor(async () => ((await outcomes(metrics)).applied > 0 ? true : undefined), 10_000, 'the joined transaction applied');
      expect(rowsIn(dbPath)).toBe(40);
      expect(follower.position).toEqual({ generation: FIRST, index: 0, offset: offset + big.length });
      expect((await outcomes(metrics)).segment_damaged).toBe(0);
    } finally {
      await follower.stop();
    }
  });

  it('restores afresh from the newest snapshot once a segment stays damaged past the bound, counted', async () => {
    const { history, replica, metrics, dbPath } = firstGeneration(20);
    let restored = 0;
    const follower = followerOf(replica, dbPath, metrics, { damagedSegmentPolls: 3, onRestored: () => restored++ });
    await follower.bootstrap();
    expect(follower.position?.generation).toBe(FIRST);

    // The next segment is damaged for good (Litestream never rewrites one), and a newer
    // generation waits behind it: no poll gets past the damage to look for it.
    const next = lz4(history.segments[1]!);
    replica.segment(FIRST, history.segments[0]!.length, next.subarray(0, Math.floor(next.length / 2)));
    const other = primaryHistory(5);
    replica.snapshot(SECOND, other.snapshot);
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(replica.folder, replica.layout.snapshotKey(SECOND, 0)), later, later);
    follower.start();
    try {
      await waitFor(async () => ((await outcomes(metrics)).restored_past_damage > 0 ? true : undefined), 10_000, 'restored past the damage');
      expect((await outcomes(metrics)).segment_damaged).toBeGreaterThanOrEqual(3);
      expect(follower.position?.generation).toBe(SECOND);
      expect(restored).toBe(1);
      expect(rowsIn(dbPath)).toBe(0);
      // What health and the status page show.
      expect(follower.lastRestore()).toMatchObject({ reason: 'restored_past_damage', atMs: expect.any(Number) });
    } finally {
      await follower.stop();
    }
  });

  it('counts a store that cannot be read as store_error', async () => {
    const history = primaryHistory(3);
    const replica = replicaFolder(history.dir);
    replica.snapshot(FIRST, history.snapshot);
    const metrics = createMetrics();
    const follower = followerOf(replica, path.join(history.dir, 'copy', 'feed.db'), metrics);
    await follower.bootstrap();
    fs.rmSync(replica.folder, { recursive: true });
    fs.writeFileSync(replica.folder, 'not a folder any more');
    follower.start();
    try {
      await waitFor(async () => ((await outcomes(metrics)).store_error > 0 ? true : undefined), 10_000, 'a store error counted');
      expect(metricValue(await metrics.registry.metrics(), 'feedgen_replica_follow_errors_total')).toBeGreaterThan(0);
    } finally {
      follower.stop();
    }
  });
});
