import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WriterDb as Database } from '../src/store/database.js';
import { EventWriter, type Interaction } from '../src/ingest/writer/event-writer.js';
import { CHANGE_KIND, POST_FLAGS } from '../src/store/schema.js';
import { toStoredRecordKey } from '../src/store/record-key.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { postUri } from '../src/atproto/identifiers.js';
import { likeFingerprint, tempDatabase } from '../testkit/processes/db.js';

const ALICE = 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa';
const BOB = 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb';
const like = (did: string, rkey: string, postRkey: string, timeUs = 1_000): IngestEvent => ({
  type: 'like',
  did,
  rkey,
  subjectUri: postUri(BOB, postRkey),
  timeUs,
});
const cursor = (timeUs: number) => ({ timeUs, seq: undefined, seqHost: undefined });

describe('EventWriter', () => {
  let db: Database;
  let cleanup: () => void;
  let writer: EventWriter;

  beforeEach(() => {
    ({ db, cleanup } = tempDatabase());
    writer = new EventWriter(db);
  });
  afterEach(() => cleanup());

  it('stores likes with integer ids and the cursor in the same transaction', () => {
    const counts = writer.writeBatch([like(ALICE, 'l1', 'p1'), like(BOB, 'l2', 'p1')], cursor(42));
    expect(counts.like.stored).toBe(2);
    expect(likeFingerprint(db)).toEqual([`${ALICE}|l1|${BOB}|p1`, `${BOB}|l2|${BOB}|p1`]);
    expect(db.prepare('SELECT count(*) AS n FROM posts').get()).toEqual({ n: 1 });
    expect(writer.cursor()).toEqual({ timeUs: 42, seq: undefined, seqHost: undefined });
    expect(writer.liveLikeCount()).toBe(2);
  });

  it('treats a replayed like as a duplicate, never a second row', () => {
    writer.writeBatch([like(ALICE, 'l1', 'p1')], cursor(1));
    const counts = writer.writeBatch([like(ALICE, 'l1', 'p1'), like(ALICE, 'l1', 'p1')], cursor(2));
    expect(counts.like).toEqual({ stored: 0, duplicate: 2, ignored: 0 });
    expect(likeFingerprint(db)).toHaveLength(1);
    expect(writer.liveLikeCount()).toBe(1);
  });

  it('keeps an unliked like deleted when its create is replayed after the delete', () => {
    writer.writeBatch([like(ALICE, 'l1', 'p1'), { type: 'like-delete', did: ALICE, rkey: 'l1', timeUs: 2 }], cursor(2));
    // A rewind replays both events.
    const counts = writer.writeBatch([like(ALICE, 'l1', 'p1'), { type: 'like-delete', did: ALICE, rkey: 'l1', timeUs: 2 }], cursor(3));
    expect(counts.like.duplicate).toBe(1);
    expect(counts['like-delete'].ignored).toBe(1);
    expect(likeFingerprint(db)).toEqual([]);
    expect(writer.liveLikeCount()).toBe(0);
    const changes = db.prepare('SELECT kind FROM changes').all();
    expect(changes).toEqual([{ kind: CHANGE_KIND.likeDeleted }]);
  });

  it('ignores the delete of a like it never saw', () => {
    const counts = writer.writeBatch([{ type: 'like-delete', did: ALICE, rkey: 'nope', timeUs: 1 }], cursor(1));
    expect(counts['like-delete'].ignored).toBe(1);
  });

  it('keeps a post deleted even if its create arrives afterwards', () => {
    writer.writeBatch([{ type: 'post-delete', did: BOB, rkey: 'p1', timeUs: 5 }], cursor(5));
    const counts = writer.writeBatch(
      [{ type: 'post', did: BOB, rkey: 'p1', createdAtUs: 4, isReply: false, timeUs: 4 }, { type: 'post-delete', did: BOB, rkey: 'p1', timeUs: 5 }],
      cursor(6),
    );
    expect(counts.post.stored).toBe(1);
    expect(counts['post-delete'].duplicate).toBe(1);
    const row = db.prepare<[], { flags: number }>('SELECT flags FROM posts').get()!;
    expect(row.flags & POST_FLAGS.deleted).toBe(POST_FLAGS.deleted);
    expect(row.flags & POST_FLAGS.seen).toBe(POST_FLAGS.seen);
  });

  it('applies an account status only when its seq is newer', () => {
    const status = (active: boolean, seq: number): IngestEvent => ({
      type: 'account',
      did: ALICE,
      active,
      status: active ? undefined : 'takendown',
      accountSeq: seq,
      timeUs: seq,
    });
    writer.writeBatch([status(false, 10)], cursor(10));
    const counts = writer.writeBatch([status(true, 5)], cursor(11));
    expect(counts.account.duplicate).toBe(1);
    expect(db.prepare('SELECT active, status FROM actors WHERE did = ?').get(ALICE)).toEqual({ active: 0, status: 'takendown' });
    writer.writeBatch([status(true, 11)], cursor(12));
    expect(db.prepare('SELECT active FROM actors WHERE did = ?').get(ALICE)).toEqual({ active: 1 });
  });

  it('rolls back the whole batch and the cursor when a write fails, and recovers', () => {
    writer.writeBatch([like(ALICE, 'l1', 'p1')], cursor(1));
    db.exec('CREATE TRIGGER fail_once BEFORE INSERT ON likes WHEN NEW.rkey = \'boom\' BEGIN SELECT RAISE(ABORT, \'injected\'); END');
    expect(() => writer.writeBatch([like(BOB, 'l9', 'p9'), like(ALICE, 'boom', 'p2')], cursor(2))).toThrow(/write batch/);
    expect(writer.cursor().timeUs).toBe(1);
    expect(likeFingerprint(db)).toHaveLength(1);
    db.exec('DROP TRIGGER fail_once');
    // Ids cached during the failed batch must not leak into the retry.
    writer.writeBatch([like(BOB, 'l9', 'p9'), like(ALICE, 'boom', 'p2')], cursor(2));
    expect(likeFingerprint(db)).toEqual([`${ALICE}|boom|${BOB}|p2`, `${ALICE}|l1|${BOB}|p1`, `${BOB}|l9|${BOB}|p9`]);
    expect(writer.liveLikeCount()).toBe(3);
  });

  it('stores a TID record key as its integer and any other as text, never confuses the two, and deletes each by its own key', () => {
    const tid = '3n36oga6fqpwl';
    // The decimal text of the TID's integer: equal as a number, a different record key.
    const lookalike = String(toStoredRecordKey(tid));
    const counts = writer.writeBatch([like(ALICE, tid, 'p1'), like(ALICE, lookalike, 'p1'), like(ALICE, 'self', 'p1')], cursor(1));
    expect(counts.like).toEqual({ stored: 3, duplicate: 0, ignored: 0 });
    expect(db.prepare('SELECT typeof(rkey) AS t FROM likes ORDER BY id').pluck().all()).toEqual(['integer', 'text', 'text']);
    expect(writer.writeBatch([like(ALICE, tid, 'p1'), like(ALICE, lookalike, 'p1')], cursor(2)).like.duplicate).toBe(2);

    writer.writeBatch([{ type: 'like-delete', did: ALICE, rkey: tid, timeUs: 2 }], cursor(3));
    expect(likeFingerprint(db)).toEqual([`${ALICE}|${lookalike}|${BOB}|p1`, `${ALICE}|self|${BOB}|p1`]);
    writer.writeBatch([{ type: 'like-delete', did: ALICE, rkey: lookalike, timeUs: 3 }], cursor(4));
    expect(likeFingerprint(db)).toEqual([`${ALICE}|self|${BOB}|p1`]);
    expect(writer.liveLikeCount()).toBe(1);
  });

  it('keeps every like at or below its post like_bound across a rolled-back batch', () => {
    const tight = new EventWriter(db, { likeBoundSlack: 1 });
    tight.writeBatch([like(ALICE, 'l1', 'p1')], cursor(1));
    // The failed batch raises p1's bound in the database, then rolls it back.
    db.exec('CREATE TRIGGER fail_once BEFORE INSERT ON likes WHEN NEW.rkey = \'boom\' BEGIN SELECT RAISE(ABORT, \'injected\'); END');
    expect(() => tight.writeBatch([like(BOB, 'l2', 'p1'), like(BOB, 'l3', 'p1'), like(ALICE, 'boom', 'p1')], cursor(2))).toThrow(/write batch/);
    db.exec('DROP TRIGGER fail_once');
    tight.writeBatch([like(BOB, 'l2', 'p1'), like(BOB, 'l3', 'p1')], cursor(2));
    const above = db.prepare('SELECT count(*) FROM likes l JOIN posts p ON p.id = l.post_id WHERE l.id > p.like_bound').pluck().get();
    expect(above).toBe(0);
  });

  it('gives like ids that only grow, even after the newest like is deleted', () => {
    writer.writeBatch([like(ALICE, 'l1', 'p1'), like(ALICE, 'l2', 'p1')], cursor(1));
    db.prepare('DELETE FROM likes WHERE rkey = ?').run('l2');
    writer.writeBatch([like(ALICE, 'l3', 'p1')], cursor(2));
    const ids = db.prepare<[], { id: number }>('SELECT id FROM likes ORDER BY id').all().map((r) => r.id);
    expect(ids).toEqual([1, 3]);
  });

  it('keeps the live like count across a reopen', () => {
    writer.writeBatch([like(ALICE, 'l1', 'p1'), like(BOB, 'l2', 'p1')], cursor(1));
    expect(new EventWriter(db).liveLikeCount()).toBe(2);
  });

  it("keeps each user's newest interactions up to the bound, deleting the oldest as new ones come", () => {
    const bounded = new EventWriter(db, { interactionsPerUser: 100 });
    const seen = (n: number, tag: string): Interaction[] =>
      Array.from({ length: n }, (_, i) => ({ event: 'app.bsky.feed.defs#interactionSeen', postUri: postUri(BOB, `${tag}${i}`), reqId: tag, feedContext: 'x'.repeat(100) }));
    const reqIdsOf = (did: string) =>
      db.prepare<[string], { req_id: string; n: number }>('SELECT req_id, count(*) AS n FROM interactions i JOIN actors a ON a.id = i.actor_id WHERE a.did = ? GROUP BY req_id ORDER BY req_id').all(did);
    bounded.writeInteractions(BOB, seen(30, 'b'), 500);
    for (let call = 0; call < 10; call++) bounded.writeInteractions(ALICE, seen(30, `a${call}`), 1_000 + call);
    // 300 stored for ALICE: the newest 100 stay, the call at the bound whole (its rows share a time).
    expect(reqIdsOf(ALICE)).toEqual([
      { req_id: 'a6', n: 30 },
      { req_id: 'a7', n: 30 },
      { req_id: 'a8', n: 30 },
      { req_id: 'a9', n: 30 },
    ]);
    expect(reqIdsOf(BOB)).toEqual([{ req_id: 'b', n: 30 }]);
  });
});
