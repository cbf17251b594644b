import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AnyDb as Database, openReader, type ReaderDb, type WriterDb } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { META, MetaTable } from '../src/store/meta.js';
import { Pruner } from '../src/store/pruner.js';
import { POST_FLAGS } from '../src/store/schema.js';
import { GraphSync } from '../src/feed/graph/graph-sync.js';
import { type LikeGraph, LikeList } from '../src/feed/graph/like-graph.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { postUri } from '../src/atproto/identifiers.js';
import { createLogger } from '../src/observability/logger.js';
import { tempDatabase } from '../testkit/processes/db.js';
import { seeded } from '../testkit/random.js';
import { numberedDid } from '../testkit/numbered-did.js';

const did = numberedDid;

const T0_US = 1_750_000_000_000_000;
const SECOND_US = 1_000_000;
const cursor = (timeUs: number) => ({ timeUs, seq: undefined, seqHost: undefined });

const like = (actor: number, rkey: string, author: number, postRkey: string, timeUs: number): IngestEvent => ({
  type: 'like',
  did: did(actor),
  rkey,
  subjectUri: postUri(did(author), postRkey),
  timeUs,
});
const unlike = (actor: number, rkey: string, timeUs: number): IngestEvent => ({ type: 'like-delete', did: did(actor), rkey, timeUs });
const post = (author: number, rkey: string, timeUs: number, isReply = false): IngestEvent => ({
  type: 'post',
  did: did(author),
  rkey,
  createdAtUs: timeUs,
  isReply,
  timeUs,
});
const deletePost = (author: number, rkey: string, timeUs: number): IngestEvent => ({ type: 'post-delete', did: did(author), rkey, timeUs });
const account = (actor: number, active: boolean, accountSeq: number, timeUs: number): IngestEvent => ({
  type: 'account',
  did: did(actor),
  active,
  status: active ? undefined : 'deactivated',
  accountSeq,
  timeUs,
});

type Walks = Record<number, Array<[number, number]>>;

/**
 * The graph must equal the database: for every actor and post the database knows (and
 * every one it knew before), the likes the graph walks are the live rows, newest first;
 * counts, statuses, authors and liveness agree.
 */
function expectGraphEqualsDatabase(graph: LikeGraph, db: Database, known: { actors: Set<number>; posts: Set<number> }): void {
  const rows = db
    .prepare<[], { id: number; actor_id: number; post_id: number; time_us: number }>(
      'SELECT id, actor_id, post_id, time_us FROM likes WHERE deleted = 0 ORDER BY id DESC',
    )
    .all();
  const actors = db.prepare<[], { id: number; active: number }>('SELECT id, active FROM actors').all();
  const posts = db.prepare<[], { id: number; author_id: number; flags: number }>('SELECT id, author_id, flags FROM posts').all();
  for (const a of actors) known.actors.add(a.id);
  for (const p of posts) known.posts.add(p.id);
  for (const r of rows) known.posts.add(r.post_id);

  const sqlByActor: Walks = {};
  const sqlByPost: Walks = {};
  const graphByActor: Walks = {};
  const graphByPost: Walks = {};
  for (const actor of known.actors) {
    sqlByActor[actor] = [];
    graphByActor[actor] = [];
    graphByActor[actor] = listed((list) => graph.readLikesOfActor(actor, Number.POSITIVE_INFINITY, list));
  }
  for (const p of known.posts) {
    sqlByPost[p] = [];
    graphByPost[p] = [];
    graphByPost[p] = listed((list) => graph.readLikersOfPost(p, Number.POSITIVE_INFINITY, list));
  }
  for (const r of rows) {
    const timeS = Math.floor(r.time_us / 1e6);
    sqlByActor[r.actor_id]!.push([r.post_id, timeS]);
    sqlByPost[r.post_id]!.push([r.actor_id, timeS]);
  }
  expect(graphByActor).toEqual(sqlByActor);
  expect(graphByPost).toEqual(sqlByPost);
  for (const actor of known.actors) expect(graph.likesOfActor(actor)).toBe(sqlByActor[actor]!.length);
  for (const p of known.posts) expect(graph.likesOfPost(p)).toBe(sqlByPost[p]!.length);

  const since: Array<[number, number, number]> = [];
  graph.forEachLikeSince(0, (p, actor, timeS) => since.push([p, actor, timeS]));
  expect(since).toEqual(rows.map((r) => [r.post_id, r.actor_id, Math.floor(r.time_us / 1e6)]).reverse());
  expect(graph.likeCount).toBe(rows.length);
  expect(graph.likeCount).toBe(new MetaTable(db).number(META.liveLikes) ?? 0);

  const active = new Map(actors.map((a) => [a.id, a.active === 1]));
  expect(Object.fromEntries(actors.map((a) => [a.id, graph.isActorActive(a.id)]))).toEqual(Object.fromEntries(active));
  // The graph holds the posts with live likes, and only those.
  const liked = new Set(rows.map((r) => r.post_id));
  expect(graph.postCount).toBe(liked.size);
  expect(Object.fromEntries(posts.map((p) => [p.id, [graph.postAuthorOf(p.id), graph.isPostLive(p.id)]]))).toEqual(
    Object.fromEntries(
      posts.map((p) => [
        p.id,
        liked.has(p.id) ? [p.author_id, (p.flags & POST_FLAGS.deleted) === 0 && active.get(p.author_id) === true] : [0, false],
      ]),
    ),
  );
}

/** Polls until a poll reads nothing; returns the number of polls that read something. */
function catchUp(sync: GraphSync): number {
  let steps = 0;
  for (;;) {
    const step = sync.poll();
    if (step.likes + step.changes === 0) return steps;
    steps++;
  }
}

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
    const rnd = seeded(2024);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
    const ACTORS = 400;
    const ROUND_US = 3600 * SECOND_US;
    let accountSeq = 0;
    let likeN = 0;
    const likes: Array<[number, string]> = [];

    /**
     * One round of events: posts of this round, likes on posts of this round and the
     * previous one (so a post the pruner removed is never liked again), unlikes of any
     * like ever made, post deletes, account changes.
     */
    const round = (r: number, likeCount: number): IngestEvent[] => {
      const events: IngestEvent[] = [];
      let t = T0_US + r * ROUND_US;
      const at = () => (t += 10_000);
      const rkeys = (rr: number) => Array.from({ length: 40 }, (_, k) => [ACTORS + (k % 30), `r${rr}p${k}`] as [number, string]);
      const targets = [...rkeys(r), ...(r > 0 ? rkeys(r - 1) : [])];
      for (const [author, rkey] of rkeys(r)) if (rnd() < 0.5) events.push(post(author, rkey, at(), rnd() < 0.2));
      for (let k = 0; k < likeCount; k++) {
        const actor = Math.floor(rnd() ** 2 * ACTORS);
        const [author, rkey] = pick(targets);
        const l: [number, string] = [actor, `k${likeN++}`];
        likes.push(l);
        events.push(like(actor, l[1], author, rkey, at()));
        if (rnd() < 0.03) {
          const [a, lr] = pick(likes);
          events.push(unlike(a, lr, at()));
        }
        if (rnd() < 0.001) {
          const target = pick(targets);
          events.push(deletePost(target[0], target[1], at()));
        }
        if (rnd() < 0.001) events.push(account(pick([Math.floor(rnd() * ACTORS), ACTORS + Math.floor(rnd() * 30)]), rnd() < 0.5, ++accountSeq, at()));
      }
      return events;
    };
    const write = (events: IngestEvent[]) => {
      for (let k = 0; k < events.length; k += 10_000) writer.writeBatch(events.slice(k, k + 10_000), cursor(T0_US));
    };
    const roundStart = (r: number) => T0_US + r * ROUND_US;

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

/** [id, timeS] pairs of one list read, newest first. */
function listed(read: (list: LikeList) => void): Array<[number, number]> {
  const list = new LikeList();
  read(list);
  return Array.from(list.ids.subarray(0, list.length), (id, i) => [id, list.timesS[i]!]);
}
