/**
 * A start from the saved like graph (`<database>.graph`) and the rows after it: the same
 * graph, and the same rankings, as a start that reads the whole likes table, whatever
 * happened after the file was written; and a file that cannot stand for the database
 * (missing, cut short, another format, damaged, another database, changes or likes pruned
 * past it, another memory budget) is passed over, with the reason, for the whole table.
 */
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openReader, type ReaderDb, type WriterDb } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { Pruner } from '../src/store/pruner.js';
import { type CompactionTuning, GraphSync, type GraphSyncOptions } from '../src/feed/graph/graph-sync.js';
import type { LikeGraph } from '../src/feed/graph/like-graph.js';
import { SnapshotReader, SNAPSHOT_VERSION } from '../src/feed/graph/graph-snapshot.js';
import { graphSnapshotPath } from '../src/feed/feed-engine.js';
import { rankForUser } from '../src/feed/ranker/pipeline.js';
import { computePopular } from '../src/feed/ranker/popular.js';
import { DEFAULT } from '../src/feed/ranker/params.js';
import { CHANGE_KIND } from '../src/store/schema.js';
import { createLogger } from '../src/observability/logger.js';
import { tempDatabase } from '../testkit/processes/db.js';
import { seeded } from '../testkit/random.js';
import { catchUp, expectGraphEqualsDatabase, RandomHistory, writeInBatches } from '../testkit/graph-events.js';

/** Compactions at this test's sizes, and a running graph that compacts after every poll with likes. */
const TUNING: CompactionTuning = { keepNewest: 2_000, share: 0, minLikes: 1, loadMaxSlotted: 20_000, loadShare: 0.25 };
const ACTORS = 400;

describe('like graph snapshot', () => {
  let db: WriterDb;
  let dbPath: string;
  let cleanup: () => void;
  let writer: EventWriter;
  let pruner: Pruner;
  let history: RandomHistory;
  const readers: ReaderDb[] = [];
  const cleanups: Array<() => void> = [];
  const log = createLogger('silent');

  beforeEach(() => {
    ({ db, dbPath, cleanup } = tempDatabase());
    writer = new EventWriter(db);
    pruner = new Pruner(db, writer);
    history = new RandomHistory(seeded(77), ACTORS);
  });
  afterEach(() => {
    for (const r of readers.splice(0)) if (r.open) r.close();
    cleanup();
    for (const c of cleanups.splice(0)) c();
  });

  const snapshotFile = () => graphSnapshotPath(dbPath);
  /** A GraphSync with the snapshot file beside `path`, written only when asked (writeSnapshot). */
  const openSync = (options: Omit<GraphSyncOptions, 'snapshot'> & { path?: string; snapshot?: false } = {}): GraphSync => {
    const path = options.path ?? dbPath;
    const reader = openReader(path, { busyTimeoutMs: 1000 });
    readers.push(reader);
    const snapshot = options.snapshot === false ? undefined : { path: graphSnapshotPath(path), intervalMs: Number.POSITIVE_INFINITY };
    return new GraphSync(reader, log, { tuning: TUNING, ...options, snapshot });
  };
  const write = (r: number, likes: number) => writeInBatches(writer, history.round(r, likes));
  const pruneBefore = (cutoffUs: number) => {
    while (pruner.pruneStep(cutoffUs, 5_000).more);
  };
  const loaded = async (sync: GraphSync): Promise<GraphSync> => {
    await sync.load();
    catchUp(sync);
    await sync.settled();
    return sync;
  };
  /** Writes a snapshot from a graph loaded from the whole table, and returns the change seq it was taken at. */
  const snapshotNow = async (): Promise<number> => {
    const sync = await loaded(openSync());
    expect(sync.loadStart).toMatchObject({ from: 'database', reason: 'missing' });
    const written = await sync.writeSnapshot();
    expect(written!.bytes).toBeGreaterThan(1000);
    sync.stop();
    return db.prepare<[], number>('SELECT max(seq) FROM changes').pluck().get() ?? 0;
  };
  const nowS = () => Math.floor((db.prepare<[], number>('SELECT max(time_us) FROM likes').pluck().get() ?? 0) / 1e6) + 60;
  /** Every actor's ranking and the popular list. */
  const rankings = (graph: LikeGraph) => {
    const now = nowS();
    const ranked = Array.from({ length: ACTORS + 40 }, (_, actor) => Array.from(rankForUser(graph, actor, DEFAULT, now) ?? []));
    return { ranked, popular: Array.from(computePopular(graph, DEFAULT, now)) };
  };

  it('starts from the file and the rows after it: the same graph and rankings as a start from the whole table, through unlikes, post deletes, account changes and pruning after it was written', async () => {
    write(0, 30_000);
    write(1, 8_000);
    write(2, 8_000);
    pruneBefore(history.roundStart(0) + 1800 * 1e6);
    const snapshotSeq = await snapshotNow();

    // After the file: more likes, unlikes of frozen likes, deletes, account changes, and pruning through round 1.
    write(3, 8_000);
    write(4, 8_000);
    pruneBefore(history.roundStart(1) + 1800 * 1e6);
    const kinds = db.prepare<[number], { kind: number }>('SELECT DISTINCT kind FROM changes WHERE seq > ? ORDER BY kind').all(snapshotSeq);
    expect(kinds.map((k) => k.kind)).toEqual([CHANGE_KIND.likeDeleted, CHANGE_KIND.postDeleted, CHANGE_KIND.actorStatus]);

    const fromFile = await loaded(openSync());
    expect(fromFile.loadStart).toMatchObject({ from: 'snapshot' });
    // The file's frozen part is in use: likes the tail did not read are in compacted lists.
    expect(fromFile.graph.compactedThrough).toBeGreaterThan(0);
    const fromTable = await loaded(openSync({ snapshot: false }));
    expect(fromTable.loadStart).toMatchObject({ from: 'database', reason: 'disabled' });

    const known = { actors: new Set<number>(), posts: new Set<number>() };
    expectGraphEqualsDatabase(fromFile.graph, db, known);
    expectGraphEqualsDatabase(fromTable.graph, db, known);
    const ranked = rankings(fromFile.graph);
    expect(ranked.ranked.filter((r) => r.length > 0).length).toBeGreaterThan(100);
    expect(ranked).toEqual(rankings(fromTable.graph));

    // It keeps following the database like any graph.
    write(5, 4_000);
    pruneBefore(history.roundStart(3));
    catchUp(fromFile);
    await fromFile.settled();
    expectGraphEqualsDatabase(fromFile.graph, db, known);
  }, 120_000);

  it('saves the graph after its load, then once the file is an interval old, and a start uses it', async () => {
    write(0, 10_000);
    const reader = openReader(dbPath, { busyTimeoutMs: 1000 });
    readers.push(reader);
    const sync = new GraphSync(reader, log, { tuning: TUNING, snapshot: { path: snapshotFile(), intervalMs: 300 } });
    await sync.load();
    await sync.settled();
    const savedThrough = async () => {
      const file = await SnapshotReader.open(snapshotFile());
      await file.close();
      return (file.meta as { lastLikeId: number }).lastLikeId;
    };
    const first = await savedThrough();
    expect(first).toBe(sync.graph.newestLikeId);

    write(1, 2_000);
    catchUp(sync);
    await sync.settled();
    expect(await savedThrough()).toBe(first); // not an interval yet
    await new Promise((resolve) => setTimeout(resolve, 350));
    sync.poll();
    await sync.settled();
    expect(await savedThrough()).toBe(sync.graph.newestLikeId);
    expect(sync.graph.newestLikeId).toBeGreaterThan(first);
    sync.stop();

    write(2, 2_000);
    const restarted = await loaded(openSync());
    expect(restarted.loadStart).toMatchObject({ from: 'snapshot' });
    expectGraphEqualsDatabase(restarted.graph, db, { actors: new Set(), posts: new Set() });
  }, 60_000);

  it('passes over a file that cannot stand for the database, says why, and loads the whole table', async () => {
    write(0, 20_000);
    write(1, 5_000);
    await snapshotNow();
    const good = readFileSync(snapshotFile());
    write(2, 5_000);
    const known = { actors: new Set<number>(), posts: new Set<number>() };
    const expectFullLoad = async (reason: string, path = dbPath): Promise<GraphSync> => {
      const sync = await loaded(openSync({ path }));
      expect(sync.loadStart).toMatchObject({ from: 'database', reason });
      if (path === dbPath) expectGraphEqualsDatabase(sync.graph, db, known);
      return sync;
    };

    truncateSync(snapshotFile(), Math.floor(good.length / 2));
    await expectFullLoad('truncated');

    const otherVersion = Buffer.from(good);
    otherVersion.writeUInt32LE(SNAPSHOT_VERSION + 1, 8);
    writeFileSync(snapshotFile(), otherVersion);
    await expectFullLoad('version');

    const damaged = Buffer.from(good);
    damaged[good.length - 1000]! ^= 0xff;
    writeFileSync(snapshotFile(), damaged);
    await expectFullLoad('checksum');

    writeFileSync(snapshotFile(), 'not a like graph snapshot\n'.repeat(10));
    await expectFullLoad('unreadable');

    // Another database (another history, the same ids): the like at the file's cursor differs.
    const other = tempDatabase();
    cleanups.push(other.cleanup);
    writeInBatches(new EventWriter(other.db), new RandomHistory(seeded(78), ACTORS).round(0, 30_000));
    writeFileSync(graphSnapshotPath(other.dbPath), good);
    await expectFullLoad('fingerprint', other.dbPath);

    // Changes after the file's seq pruned (the pruner drops the oldest; here by hand, to keep the likes).
    writeFileSync(snapshotFile(), good);
    const seq = (JSON.parse(good.subarray(16, 16 + good.readUInt32LE(12)).toString('utf8')) as { meta: { lastChangeSeq: number } }).meta.lastChangeSeq;
    db.prepare('DELETE FROM changes WHERE seq <= ?').run(seq + 1);
    await expectFullLoad('changes-pruned');

    // Every like the file holds pruned.
    pruneBefore(history.roundStart(2));
    const full = await expectFullLoad('likes-pruned');

    // A file written after all that is used (the graph from it equal to the database).
    await full.writeSnapshot();
    const again = await loaded(openSync());
    expect(again.loadStart).toMatchObject({ from: 'snapshot' });
    expectGraphEqualsDatabase(again.graph, db, known);
  }, 120_000);

  it('is used when every change before it was pruned: its seq follows on from the highest ever given', async () => {
    write(0, 10_000);
    db.prepare('DELETE FROM changes').run(); // as the pruner leaves a quiet database
    await snapshotNow();
    write(1, 5_000);
    expect(db.prepare<[], number>('SELECT count(*) FROM changes').pluck().get()).toBeGreaterThan(0);
    const restarted = await loaded(openSync());
    expect(restarted.loadStart).toMatchObject({ from: 'snapshot' });
    expectGraphEqualsDatabase(restarted.graph, db, { actors: new Set(), posts: new Set() });
  }, 60_000);

  it('loads a file taken under a memory budget with its floor, and passes it over for a larger budget', async () => {
    // Enough likes that the frozen ones outweigh the fixed costs (a slot chunk is 2 MB).
    for (let r = 0; r < 4; r++) write(r, 50_000);
    const free = await loaded(openSync({ snapshot: false }));
    const budgetBytes = Math.round(free.graph.memoryBytes() * 0.8);
    free.stop();

    const budgeted = await loaded(openSync({ memoryBudgetBytes: budgetBytes }));
    const floor = budgeted.budgetReport().memoryFloorId;
    expect(floor).toBeGreaterThan(0);
    await budgeted.writeSnapshot();
    write(1, 3_000);
    catchUp(budgeted);
    await budgeted.settled();

    const restarted = await loaded(openSync({ memoryBudgetBytes: budgetBytes }));
    expect(restarted.loadStart, JSON.stringify(restarted.loadStart)).toMatchObject({ from: 'snapshot' });
    expect(restarted.budgetReport().memoryFloorId).toBeGreaterThanOrEqual(floor);
    // It holds the live likes above its floor, and no more than the budget allows.
    const liveAbove = db.prepare<[number], number>('SELECT count(*) FROM likes WHERE deleted = 0 AND id > ?').pluck();
    expect(restarted.graph.likeCount).toBe(liveAbove.get(restarted.graph.floorId));
    expect(Math.max(restarted.graph.memoryBytes(), restarted.graph.compactionPeakBytes)).toBeLessThanOrEqual(budgetBytes);

    const larger = await loaded(openSync({ memoryBudgetBytes: budgetBytes * 2 }));
    expect(larger.loadStart).toMatchObject({ from: 'database', reason: 'budget' });
    expect(larger.graph.likeCount).toBeGreaterThan(restarted.graph.likeCount);
  }, 120_000);
});
