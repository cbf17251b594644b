import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WriterDb as Database } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { META, MetaTable } from '../src/store/meta.js';
import { Pruner } from '../src/store/pruner.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { postUri } from '../src/atproto/identifiers.js';
import { tempDatabase } from '../testkit/processes/db.js';

const SLACK = 10;
const actor = (i: number) => `did:plc:${String.fromCharCode(97 + (i % 26)).repeat(23)}${String.fromCharCode(97 + (Math.floor(i / 26) % 26))}`;
const cursor = { timeUs: 1, seq: undefined, seqHost: undefined };

describe('Pruner and posts.like_bound', () => {
  let db: Database;
  let cleanup: () => void;
  let writer: EventWriter;
  let pruner: Pruner;
  let n = 0;
  beforeEach(() => {
    ({ db, cleanup } = tempDatabase());
    writer = new EventWriter(db, { likeBoundSlack: SLACK });
    pruner = new Pruner(db, writer);
    n = 0;
  });
  afterEach(() => cleanup());

  const like = (post: string, timeUs: number): IngestEvent => ({ type: 'like', did: actor(n++), rkey: `l${n}`, subjectUri: postUri(actor(0), post), timeUs });
  const sweepAt = () => new MetaTable(db).number(META.postSweepId) ?? 0;
  /**
   * Prunes the likes in small steps, then lets the post sweep run one whole lap over what
   * is left: it may stand mid-lap when the likes are done, so it first runs on to its
   * wrap-around (back to 0), then one step (under 1000 posts) walks every old post.
   */
  const pruneAll = (cutoffUs: number) => {
    while (pruner.pruneStep(cutoffUs, 7).more);
    while (sweepAt() !== 0) pruner.pruneStep(cutoffUs, 1000);
    pruner.pruneStep(cutoffUs, 1000);
  };
  const postId = (post: string) =>
    db.prepare('SELECT p.id FROM posts p JOIN actors a ON a.id = p.author_id WHERE a.did = ? AND p.rkey = ?').pluck().get(actor(0), post);
  const postExists = (post: string) =>
    db.prepare('SELECT count(*) FROM posts p JOIN actors a ON a.id = p.author_id WHERE a.did = ? AND p.rkey = ?').pluck().get(actor(0), post) === 1;
  /** No like points at a missing post, and no like of a post is above its bound. */
  const checkInvariant = () => {
    expect(db.prepare('SELECT count(*) FROM likes l LEFT JOIN posts p ON p.id = l.post_id WHERE p.id IS NULL').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id WHERE l.id > p.like_bound').pluck().get()).toBe(0);
  };

  it('never frees a post still liked, under a random stream with times out of order, and prunes as it goes', () => {
    let seed = 11;
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    for (let round = 0; round < 40; round++) {
      const events: IngestEvent[] = [];
      for (let i = 0; i < 25; i++) {
        // a few hot posts and a long tail; times up to 30 behind the clock (bounded disorder)
        const post = random() < 0.5 ? `hot${Math.floor(random() * 3)}` : `p${Math.floor(random() * 200)}`;
        events.push(like(post, round * 25 + i - Math.floor(random() * 30)));
      }
      writer.writeBatch(events, cursor);
      pruneAll(round * 25 - 100);
      checkInvariant();
    }
    expect(postExists('hot0') && postExists('hot1') && postExists('hot2')).toBe(true);
  });

  it('keeps a post liked again after a long pause until the likes are pruned SLACK past that like, then gives a new row to one liked after', () => {
    writer.writeBatch([like('quiet', 0)], cursor);
    writer.writeBatch(Array.from({ length: 5 * SLACK }, (_, i) => like(`other${i}`, 1 + i)), cursor);
    writer.writeBatch([like('quiet', 100)], cursor); // far past its bound: the bound moves
    const secondLikeId = 2 + 5 * SLACK;
    pruneAll(99);
    expect(new MetaTable(db).number(META.prunedLikeId)).toBe(secondLikeId - 1);
    expect(postExists('quiet')).toBe(true);
    checkInvariant();

    // Likes `more${i}` get ids secondLikeId + 1 + i at times 200 + i.
    writer.writeBatch(Array.from({ length: 5 * SLACK }, (_, i) => like(`more${i}`, 200 + i)), cursor);
    const quietId = postId('quiet');
    pruneAll(200 + SLACK - 1); // the second like of 'quiet' goes, but not yet the likes up to its bound
    expect(new MetaTable(db).number(META.prunedLikeId)).toBe(secondLikeId + SLACK - 1);
    expect(postExists('quiet')).toBe(true);
    pruneAll(200 + SLACK); // the likes are pruned through the bound: the post goes
    expect(new MetaTable(db).number(META.prunedLikeId)).toBe(secondLikeId + SLACK);
    expect(postExists('quiet')).toBe(false);
    checkInvariant();

    writer.writeBatch([like('quiet', 300)], cursor);
    expect(postExists('quiet')).toBe(true);
    expect(postId('quiet')).toBeGreaterThan(quietId as number);
    checkInvariant();
  });

  it('frees a post no longer liked once the likes are pruned SLACK past its last one', () => {
    writer.writeBatch([like('gone', 0), like('gone', 1)], cursor);
    const lastLike = 2;
    // A steady stream on other posts; everything up to each step's time is pruned.
    let freedAfter: number | undefined;
    for (let t = 2; t < 200 && freedAfter === undefined; t++) {
      writer.writeBatch([like(`other${t}`, t)], cursor);
      pruneAll(t);
      if (!postExists('gone')) freedAfter = new MetaTable(db).number(META.prunedLikeId)!;
    }
    expect(freedAfter).toBeDefined();
    expect(freedAfter! - lastLike).toBeLessThanOrEqual(SLACK);
    expect(freedAfter! - lastLike).toBeGreaterThan(0);
  });

  it('frees every old post once all likes are pruned, whatever their bounds', () => {
    const big = new EventWriter(db); // the default slack, far above the like count
    const bigPruner = new Pruner(db, big);
    big.writeBatch([like('a', 0), like('b', 1), { type: 'post', did: actor(0), rkey: 'c', createdAtUs: 2, isReply: false, timeUs: 2 }], cursor);
    while (bigPruner.pruneStep(1000, 100).more);
    bigPruner.pruneStep(1000, 100);
    expect(db.prepare('SELECT count(*) FROM posts').pluck().get()).toBe(0);
  });
});
