/**
 * Post and like ids are AUTOINCREMENT over everything ever seen, so on the real firehose
 * they pass 2^31 within months (and 2^32 later). Here the counters jump to just below
 * each limit, and the path from the database to a served page must work on both sides:
 * a load from the table, an incremental sync, a start from the snapshot file, pruning,
 * and getFeedSkeleton's pages and cursors.
 */
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openReader, type ReaderDb, type WriterDb } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { Pruner } from '../src/store/pruner.js';
import { type CompactionTuning, GraphSync } from '../src/feed/graph/graph-sync.js';
import { LikeGraph } from '../src/feed/graph/like-graph.js';
import { FeedEngine, graphSnapshotPath } from '../src/feed/feed-engine.js';
import { rankForUser } from '../src/feed/ranker/pipeline.js';
import { computePopular } from '../src/feed/ranker/popular.js';
import { DEFAULT } from '../src/feed/ranker/params.js';
import { postUri } from '../src/atproto/identifiers.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { tempDatabase } from '../testkit/processes/db.js';
import { testConfig } from '../testkit/processes/service.js';
import { waitFor } from '../testkit/polling/wait-for.js';
import { seeded } from '../testkit/random.js';
import { numberedDid as did } from '../testkit/numbered-did.js';
import { catchUp, cursor, expectGraphEqualsDatabase, like, post, RandomHistory, SECOND_US, T0_US, writeInBatches } from '../testkit/graph-events.js';

const INT32_LIMIT = 2 ** 31;
const UINT32_LIMIT = 2 ** 32;
/** Compactions at this test's sizes, so reads go through the frozen lists as well as the slots. */
const TUNING: CompactionTuning = { keepNewest: 500, share: 0, minLikes: 1, loadMaxSlotted: 2_000, loadShare: 0.25 };
const ACTORS = 60;

describe('ids past 2^31 and 2^32', () => {
  let db: WriterDb;
  let dbPath: string;
  let dir: string;
  let cleanup: () => void;
  let writer: EventWriter;
  let pruner: Pruner;
  const readers: ReaderDb[] = [];
  const stops: Array<() => void> = [];
  const log = createLogger('silent');

  beforeEach(() => {
    ({ db, dbPath, dir, cleanup } = tempDatabase());
    writer = new EventWriter(db);
    pruner = new Pruner(db, writer);
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
    for (const r of readers.splice(0)) if (r.open) r.close();
    cleanup();
  });

  /** The next row of `table` gets id `next`: AUTOINCREMENT goes on from sqlite_sequence. */
  const continueIdsAt = (table: 'posts' | 'likes', next: number) => {
    db.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(table);
    db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, next - 1);
  };
  const idRange = (table: 'posts' | 'likes') => db.prepare<[], { low: number; high: number }>(`SELECT min(id) AS low, max(id) AS high FROM ${table}`).get()!;
  const pruneBefore = (cutoffUs: number) => {
    while (pruner.pruneStep(cutoffUs, 5_000).more);
  };
  const prunedThrough = () => db.prepare<[], number>("SELECT value FROM meta WHERE key = 'pruned_like_id'").pluck().get() ?? 0;
  const openSync = (snapshot: boolean): GraphSync => {
    const reader = openReader(dbPath, { busyTimeoutMs: 1000 });
    readers.push(reader);
    return new GraphSync(reader, log, { tuning: TUNING, snapshot: snapshot ? { path: graphSnapshotPath(dbPath), intervalMs: Number.POSITIVE_INFINITY } : undefined });
  };
  const loaded = async (sync: GraphSync): Promise<GraphSync> => {
    await sync.load();
    catchUp(sync);
    await sync.settled();
    return sync;
  };
  const known = () => ({ actors: new Set<number>(), posts: new Set<number>() });
  const nowS = () => Math.floor((db.prepare<[], number>('SELECT max(time_us) FROM likes').pluck().get() ?? 0) / 1e6) + 60;
  const rankings = (graph: LikeGraph) => {
    const now = nowS();
    return {
      ranked: Array.from({ length: ACTORS }, (_, actor) => Array.from(rankForUser(graph, actor, DEFAULT, now) ?? [])),
      popular: Array.from(computePopular(graph, DEFAULT, now)),
    };
  };

  // Like ids run without gaps (as AUTOINCREMENT gives them), so each limit gets a database
  // of its own; post ids may jump, and cross 2^31 and then 2^32 in both.
  it.each([
    ['2^31', INT32_LIMIT],
    ['2^32', UINT32_LIMIT],
  ])('loads, syncs, starts from the snapshot file and prunes with like ids across %s and post ids across both limits', async (_name, likeLimit) => {
    const history = new RandomHistory(seeded(31), ACTORS);
    // Round 0's posts cross 2^31 and its likes the limit; round 1's posts cross 2^32.
    continueIdsAt('posts', INT32_LIMIT - 15);
    continueIdsAt('likes', likeLimit - 1_500);
    writeInBatches(writer, history.round(0, 3_000));
    expect(idRange('posts')).toMatchObject({ low: INT32_LIMIT - 15 });
    expect(idRange('posts').high).toBeGreaterThan(INT32_LIMIT);
    expect(idRange('likes')).toMatchObject({ low: likeLimit - 1_500 });
    expect(idRange('likes').high).toBeGreaterThan(likeLimit + 1_000);

    const first = await loaded(openSync(true));
    expect(first.loadStart).toMatchObject({ from: 'database' });
    expect(first.graph.compactedThrough).toBeGreaterThan(likeLimit);
    expectGraphEqualsDatabase(first.graph, db, known());
    await first.writeSnapshot();

    continueIdsAt('posts', UINT32_LIMIT - 15);
    writeInBatches(writer, history.round(1, 3_000));
    expect(idRange('posts').high).toBeGreaterThan(UINT32_LIMIT);

    // Incremental: the graph loaded before follows the rows after it.
    catchUp(first);
    await first.settled();
    expectGraphEqualsDatabase(first.graph, db, known());

    // A start from the file and the rows after it, against one from the table.
    const fromFile = await loaded(openSync(true));
    expect(fromFile.loadStart).toMatchObject({ from: 'snapshot' });
    const fromTable = await loaded(openSync(false));
    expectGraphEqualsDatabase(fromFile.graph, db, known());
    expectGraphEqualsDatabase(fromTable.graph, db, known());
    const ranked = rankings(fromTable.graph);
    expect(ranked.ranked.flat().some((p) => p > UINT32_LIMIT)).toBe(true);
    expect(ranked.ranked.flat().some((p) => p > INT32_LIMIT && p < UINT32_LIMIT)).toBe(true);
    expect(ranked.popular.some((p) => p > UINT32_LIMIT)).toBe(true);
    expect(rankings(fromFile.graph)).toEqual(ranked);
    expect(rankings(first.graph)).toEqual(ranked);

    // Pruning past the limit (two thirds of round 0), then further (two thirds of round 1).
    for (const cutoffUs of [history.roundStart(0) + 20 * SECOND_US, history.roundStart(1) + 20 * SECOND_US]) {
      pruneBefore(cutoffUs);
      for (const sync of [first, fromFile]) {
        catchUp(sync);
        await sync.settled();
        expect(sync.graph.floorId).toBe(prunedThrough());
        expectGraphEqualsDatabase(sync.graph, db, known());
      }
      expect(prunedThrough()).toBeGreaterThan(likeLimit);
      expect(rankings(fromFile.graph)).toEqual(rankings(first.graph));
    }
    expect(rankings(first.graph).ranked.flat().length).toBeGreaterThan(100);
  });

  it('serves getFeedSkeleton pages of posts with ids past 2^31 and 2^32, from a load, from the snapshot file, and after pruning', async () => {
    const t0 = T0_US;
    let t = t0;
    const at = () => (t += SECOND_US);
    const USER = 1;
    /**
     * Four co-likers of the user's 3 seeds, each liking every fourth candidate: alike in
     * overlap and activity, and each under DEFAULT's likes read a co-liker, so like times
     * alone order the feed.
     */
    const COLIKERS = [2, 3, 4, 5];
    const colikerOf = (k: number) => COLIKERS[k % COLIKERS.length]!;
    /** Candidates 0-19 have post ids across 2^31, 20-39 across 2^32; each by an author of its own (diversify stays out of it). Like ids cross 2^32. */
    const candidate = (k: number) => ({ author: 100 + k, rkey: `c${k}` });
    const seed = (k: number) => ({ author: 90, rkey: `s${k}` });
    const events: IngestEvent[] = [];
    const write = () => writer.writeBatch(events.splice(0), cursor(t));

    continueIdsAt('posts', INT32_LIMIT - 10);
    continueIdsAt('likes', UINT32_LIMIT - 11);
    for (let k = 0; k < 20; k++) events.push(post(candidate(k).author, candidate(k).rkey, at()));
    for (let k = 0; k < 20; k++) events.push(like(colikerOf(k), `l${k}`, candidate(k).author, candidate(k).rkey, at()));
    write();
    const pruneCutoffUs = t - 7 * SECOND_US; // the co-likers' likes of candidates 0-11 (3 each): like ids through 2^32
    continueIdsAt('posts', UINT32_LIMIT - 10);
    for (let k = 0; k < 3; k++) events.push(post(seed(k).author, seed(k).rkey, at()));
    for (let k = 20; k < 40; k++) events.push(post(candidate(k).author, candidate(k).rkey, at()));
    for (let k = 0; k < 3; k++) {
      events.push(like(USER, `u${k}`, seed(k).author, seed(k).rkey, at()));
      for (const coliker of COLIKERS) events.push(like(coliker, `s${k}`, seed(k).author, seed(k).rkey, at()));
    }
    for (let k = 20; k < 40; k++) events.push(like(colikerOf(k), `l${k}`, candidate(k).author, candidate(k).rkey, at()));
    write();
    expect(idRange('posts')).toEqual({ low: INT32_LIMIT - 10, high: UINT32_LIMIT + 12 });
    expect(idRange('likes')).toEqual({ low: UINT32_LIMIT - 11, high: UINT32_LIMIT + 43 });

    const config = testConfig({ DATA_DIR: dir, GRAPH_POLL_MS: '10' });
    expect(config.dbPath).toBe(dbPath);
    const ctx = { config, log, metrics: createMetrics(), clock: () => t / 1000 + 60_000, openReader: () => openReader(dbPath, config.db) };
    const start = async () => {
      const engine = FeedEngine.open(ctx);
      stops.push(() => engine.stop());
      await engine.start();
      return engine;
    };
    /** Every page of the user's feed, through the cursors. */
    const pages = (engine: FeedEngine): string[][] => {
      const out: string[][] = [];
      let next: string | undefined;
      do {
        const page = engine.ranker.skeleton({ userDid: did(USER), limit: 15, cursor: next });
        expect(page.source).toBe('default');
        out.push(page.feed.map((item) => item.post));
        next = page.cursor;
      } while (next);
      return out;
    };
    // The co-likers' newest likes first (co-likers alike, one like a post: time decides).
    const uris = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, k) => to - k).map((k) => postUri(did(candidate(k).author), candidate(k).rkey));
    const loads = async () => (await ctx.metrics.graphLoads.get()).values.map((v) => v.labels.from);

    const loaded = await start();
    expect(pages(loaded)).toEqual([uris(25, 39), uris(10, 24), uris(0, 9)]);
    const snapshotFile = graphSnapshotPath(dbPath);
    await waitFor(() => (existsSync(snapshotFile) ? true : undefined), 10_000, 'the snapshot file');
    loaded.stop();

    const restarted = await start();
    expect(await loads()).toEqual(['database', 'snapshot']);
    expect(pages(restarted)).toEqual([uris(25, 39), uris(10, 24), uris(0, 9)]);

    // Pruned through like id 2^32: candidates 0-11 go, the pages close up.
    pruneBefore(pruneCutoffUs);
    expect(prunedThrough()).toBe(UINT32_LIMIT);
    await waitFor(() => (pages(restarted).flat().length === 28 ? true : undefined), 10_000, 'the prune to reach the graph');
    expect(pages(restarted)).toEqual([uris(25, 39), uris(12, 24)]);
  });

  it('refuses an actor id past its int32 arrays with a clear error', () => {
    const graph = new LikeGraph();
    expect(() => graph.addLike(1, INT32_LIMIT, 5, 1000)).toThrow(/actor id 2147483648 is past 2147483647/);
    graph.addLike(1, 7, UINT32_LIMIT + 5, 1000, 8);
    expect([graph.likesOfPost(UINT32_LIMIT + 5), graph.likesOfPost(5), graph.postAuthorOf(UINT32_LIMIT + 5)]).toEqual([1, 0, 8]);
  });
});
