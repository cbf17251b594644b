/**
 * Events and checks shared by the like graph's tests: the events a writer stores (likes,
 * unlikes, posts, deletes, account changes), and the check that a graph equals the
 * database it was read from.
 */
import { expect } from 'vitest';
import type { AnyDb as Database } from '../src/store/database.js';
import { META, MetaTable } from '../src/store/meta.js';
import { POST_FLAGS } from '../src/store/schema.js';
import type { GraphSync } from '../src/feed/graph/graph-sync.js';
import { type LikeGraph, LikeList } from '../src/feed/graph/like-graph.js';
import type { IngestEvent } from '../src/ingest/events.js';
import type { EventWriter } from '../src/ingest/writer/event-writer.js';
import { postUri } from '../src/atproto/identifiers.js';
import { numberedDid } from './numbered-did.js';

const did = numberedDid;

export const T0_US = 1_750_000_000_000_000;
export const SECOND_US = 1_000_000;
export const cursor = (timeUs: number) => ({ timeUs, seq: undefined, seqHost: undefined });

export const like = (actor: number, rkey: string, author: number, postRkey: string, timeUs: number): IngestEvent => ({
  type: 'like',
  did: did(actor),
  rkey,
  subjectUri: postUri(did(author), postRkey),
  timeUs,
});
export const unlike = (actor: number, rkey: string, timeUs: number): IngestEvent => ({ type: 'like-delete', did: did(actor), rkey, timeUs });
export const post = (author: number, rkey: string, timeUs: number, isReply = false): IngestEvent => ({
  type: 'post',
  did: did(author),
  rkey,
  createdAtUs: timeUs,
  isReply,
  timeUs,
});
export const deletePost = (author: number, rkey: string, timeUs: number): IngestEvent => ({ type: 'post-delete', did: did(author), rkey, timeUs });
export const account = (actor: number, active: boolean, accountSeq: number, timeUs: number): IngestEvent => ({
  type: 'account',
  did: did(actor),
  active,
  status: active ? undefined : 'deactivated',
  accountSeq,
  timeUs,
});

/**
 * A random history in rounds of an hour: posts of each round, likes on posts of the round
 * and the previous one (so a post the pruner removed is never liked again), unlikes of any
 * like ever made, post deletes, account changes. Actors 0..actors-1 like; 30 more write.
 */
export class RandomHistory {
  static readonly ROUND_US = 3600 * SECOND_US;
  private accountSeq = 0;
  private likeN = 0;
  private readonly likes: Array<[number, string]> = [];

  constructor(
    private readonly rnd: () => number,
    private readonly actors = 400,
  ) {}

  roundStart(r: number): number {
    return T0_US + r * RandomHistory.ROUND_US;
  }

  round(r: number, likeCount: number): IngestEvent[] {
    const { rnd, actors, likes } = this;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
    const events: IngestEvent[] = [];
    let t = this.roundStart(r);
    const at = () => (t += 10_000);
    const rkeys = (rr: number) => Array.from({ length: 40 }, (_, k) => [actors + (k % 30), `r${rr}p${k}`] as [number, string]);
    const targets = [...rkeys(r), ...(r > 0 ? rkeys(r - 1) : [])];
    for (const [author, rkey] of rkeys(r)) if (rnd() < 0.5) events.push(post(author, rkey, at(), rnd() < 0.2));
    for (let k = 0; k < likeCount; k++) {
      const actor = Math.floor(rnd() ** 2 * actors);
      const [author, rkey] = pick(targets);
      const l: [number, string] = [actor, `k${this.likeN++}`];
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
      if (rnd() < 0.001) events.push(account(pick([Math.floor(rnd() * actors), actors + Math.floor(rnd() * 30)]), rnd() < 0.5, ++this.accountSeq, at()));
    }
    return events;
  }
}

/** Writes events in batches of 10,000, as the ingest would. */
export function writeInBatches(writer: EventWriter, events: IngestEvent[]): void {
  for (let k = 0; k < events.length; k += 10_000) writer.writeBatch(events.slice(k, k + 10_000), cursor(T0_US));
}

type Walks = Record<number, Array<[number, number]>>;

/**
 * The graph must equal the database: for every actor and post the database knows (and
 * every one it knew before), the likes the graph walks are the live rows, newest first;
 * counts, statuses, authors and liveness agree.
 */
export function expectGraphEqualsDatabase(graph: LikeGraph, db: Database, known: { actors: Set<number>; posts: Set<number> }): void {
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
  // Only the likes in slots: above the compacted ones (all, while a compaction kept every slot).
  const slotted = rows.filter((r) => r.id > graph.compactedThrough);
  expect(since).toEqual(slotted.map((r) => [r.post_id, r.actor_id, Math.floor(r.time_us / 1e6)]).reverse());
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
export function catchUp(sync: GraphSync): number {
  let steps = 0;
  for (;;) {
    const step = sync.poll();
    if (step.likes + step.changes === 0) return steps;
    steps++;
  }
}

/** [id, timeS] pairs of one list read, newest first. */
export function listed(read: (list: LikeList) => void): Array<[number, number]> {
  const list = new LikeList();
  read(list);
  return Array.from(list.ids.subarray(0, list.length), (id, i) => [id, list.timesS[i]!]);
}
