import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openReader, type ReaderDb, type WriterDb } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { META, MetaTable } from '../src/store/meta.js';
import { Pruner } from '../src/store/pruner.js';
import { GraphSync } from '../src/feed/graph/graph-sync.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { createLogger } from '../src/observability/logger.js';
import { tempDatabase } from '../testkit/processes/db.js';
import { seeded } from '../testkit/random.js';
import { numberedDid as did } from '../testkit/numbered-did.js';
import { account, catchUp, cursor, deletePost, expectGraphEqualsDatabase, like, post, RandomHistory, SECOND_US, T0_US, unlike, writeInBatches } from '../testkit/graph-events.js';

describe('GraphSync', () => {
  let db: WriterDb;
  let dbPath: string;
  let cleanup: () => void;
  let writer: EventWriter;
  let pruner: Pruner;
  const readers: ReaderDb[] = [];
  const log = createLogger('silent');

  beforeEach(() => {
    ({ db, dbPath, cleanup } = tempDatabase());
    writer = new EventWriter(db);
    pruner = new Pruner(db, writer);
  });
  afterEach(() => {
    for (const r of readers.splice(0)) if (r.open) r.close();
    cleanup();
  });

  const openSync = (): GraphSync => {
    const reader = openReader(dbPath, { busyTimeoutMs: 1000 });
    readers.push(reader);
    return new GraphSync(reader, log);
  };
  const actorId = (i: number) => db.prepare<[string], { id: number }>('SELECT id FROM actors WHERE did = ?').get(did(i))!.id;
  const postId = (author: number, rkey: string) =>
    db.prepare<[number, string], { id: number }>('SELECT id FROM posts WHERE author_id = ? AND rkey = ?').get(actorId(author), rkey)!.id;
  const likeId = (actor: number, rkey: string) =>
    db.prepare<[number, string], { id: number }>('SELECT id FROM likes WHERE actor_id = ? AND rkey = ?').get(actorId(actor), rkey)?.id;

  it('loads, then follows likes, unlikes, post deletes, account changes and pruning', async () => {
    const known = { actors: new Set<number>(), posts: new Set<number>() };
    let t = T0_US;
    const at = () => (t += SECOND_US);
    // Actors 0-4 like; 5, 6 and 7 write posts. p4 is only ever referenced by likes.
    const step1: IngestEvent[] = [post(5, 'p1', at()), post(6, 'p2', at()), post(7, 'p3', at(), true)];
    const pairs = [
      [0, 'p1'],
      [0, 'p2'],
      [1, 'p1'],
      [1, 'p3'],
      [2, 'p2'],
      [2, 'p4'],
      [3, 'p1'],
      [3, 'p3'],
      [4, 'p4'],
      [4, 'p2'],
      [0, 'p4'],
      [1, 'p4'],
    ] as const;
    const authorOf = { p1: 5, p2: 6, p3: 7, p4: 5 } as const;
    pairs.forEach(([actor, rkey], k) => step1.push(like(actor, `l${k}`, authorOf[rkey], rkey, at())));
    step1.push(unlike(0, 'l0', at()), deletePost(6, 'p2', at()), account(3, false, 10, at()), account(7, false, 11, at()));
    writer.writeBatch(step1.slice(0, 8), cursor(t));
    writer.writeBatch(step1.slice(8), cursor(t));

    const sync = openSync();
    const { graph } = sync;
    await sync.load();
    expectGraphEqualsDatabase(graph, db, known);
    expect(likeId(0, 'l0')).toBeDefined();
    expect(graph.isActorActive(actorId(3))).toBe(false);
    expect(graph.isPostLive(postId(5, 'p1'))).toBe(true);
    expect(graph.isPostLive(postId(6, 'p2'))).toBe(false); // deleted
    expect(graph.isPostLive(postId(7, 'p3'))).toBe(false); // its author is inactive
    expect(sync.poll()).toEqual({ likes: 0, changes: 0 });

    // Step 2: the change log carries what happened to rows the graph already has.
    const step2: IngestEvent[] = [
      unlike(1, 'l2', at()), // read by load
      like(3, 'd2', 5, 'p1', at()), // an inactive actor's like is still stored
      like(4, 'e1', 5, 'p5', at()),
      unlike(4, 'e1', at()), // created and unliked before the graph sees it
      like(2, 'c2', 6, 'p2', at()), // a like on a deleted post
      post(6, 'p7', at()),
      deletePost(6, 'p7', at()),
      like(2, 'c3', 6, 'p7', at()), // the first like of a post deleted before: it comes in deleted
      deletePost(5, 'p1', at()),
      account(3, true, 12, at()),
      account(7, true, 13, at()),
      account(4, false, 14, at()),
      account(4, true, 5, at()), // older seq: not applied
      post(6, 'p6', at()),
      like(0, 'a2', 6, 'p6', at()),
    ];
    writer.writeBatch(step2, cursor(t));
    expect(sync.poll()).toEqual({ likes: 5, changes: 7 });
    expectGraphEqualsDatabase(graph, db, known);
    expect(graph.isActorActive(actorId(3))).toBe(true);
    expect(graph.isActorActive(actorId(4))).toBe(false);
    expect(graph.isPostLive(postId(5, 'p1'))).toBe(false);
    expect(graph.isPostLive(postId(7, 'p3'))).toBe(true);
    expect(graph.isPostLive(postId(6, 'p6'))).toBe(true);
    expect(graph.isPostLive(postId(6, 'p7'))).toBe(false);
    expect(graph.postAuthorOf(postId(6, 'p7'))).toBe(actorId(6));

    // Step 3: prune the oldest likes, a few rows at a time; the graph follows the watermark.
    const cutoff = T0_US + 30 * SECOND_US;
    const first = pruner.pruneStep(cutoff, 5);
    expect(first.likes).toBe(5);
    expect(sync.poll()).toEqual({ likes: 0, changes: 0 });
    expectGraphEqualsDatabase(graph, db, known);
    while (pruner.pruneStep(cutoff, 5).more);
    const pruned = new MetaTable(db).number(META.prunedLikeId)!;
    expect(pruned).toBeGreaterThan(5);
    sync.poll();
    expectGraphEqualsDatabase(graph, db, known);
    expect(db.prepare('SELECT min(id) AS id FROM likes').get()).toEqual({ id: pruned + 1 });

    // Step 4: more of everything after the prune, including an unlike of a pruned like.
    const step4: IngestEvent[] = [
      unlike(0, 'l1', at()), // pruned: ignored
      like(1, 'b3', 6, 'p6', at()),
      like(3, 'd3', 6, 'p6', at()),
      unlike(0, 'a2', at()),
      deletePost(6, 'p6', at()),
      account(5, false, 20, at()),
    ];
    const counts = writer.writeBatch(step4, cursor(t));
    expect(counts['like-delete']).toEqual({ stored: 1, duplicate: 0, ignored: 1 });
    sync.poll();
    expectGraphEqualsDatabase(graph, db, known);

    // A graph loaded from scratch now is the same graph.
    const fresh = openSync();
    await fresh.load();
    expectGraphEqualsDatabase(fresh.graph, db, known);
    expect(fresh.graph.likeCount).toBe(graph.likeCount);
  });

  it('stays equal to the database through a large randomized history: multi-step loads, writes during the load, pruning across chunks', async () => {
    const known = { actors: new Set<number>(), posts: new Set<number>() };
    const history = new RandomHistory(seeded(2024));
    const round = (r: number, likeCount: number) => history.round(r, likeCount);
    const write = (events: IngestEvent[]) => writeInBatches(writer, events);
    const roundStart = (r: number) => history.roundStart(r);

    // Round 0: more likes than one read (50,000) and than one chunk (65,536).
    write(round(0, 90_000));
    const sync = openSync();
    const { graph } = sync;
    // The load's first read happens on the call; round 1 lands before its next reads.
    const loading = sync.load();
    expect(graph.newestLikeId).toBeLessThanOrEqual(50_000);
    write(round(1, 5_000));
    await loading;
    catchUp(sync);
    expectGraphEqualsDatabase(graph, db, known);

    let memory = graph.memoryBytes();
    for (let r = 2; r <= 5; r++) {
      write(round(r, 8_000));
      if (r >= 3) {
        // Prune through the middle of round r - 2 (at r = 3: all of round 0, past id 65,536), a batch at a time.
        const cutoff = roundStart(r - 2) + 20 * SECOND_US;
        while (pruner.pruneStep(cutoff, 20_000).more) sync.poll();
      }
      catchUp(sync);
      expectGraphEqualsDatabase(graph, db, known);
      if (r === 3) {
        expect(new MetaTable(db).number(META.prunedLikeId)!).toBeGreaterThan(65_536);
        expect(graph.memoryBytes()).toBeLessThan(memory);
      }
      memory = graph.memoryBytes();
    }
    expect(graph.likeCount).toBeGreaterThan(10_000);
    expect([...known.actors].some((a) => !graph.isActorActive(a))).toBe(true);

    const fresh = openSync();
    await fresh.load();
    expectGraphEqualsDatabase(fresh.graph, db, known);
  });
});
