import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openWriter } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { migrate, SCHEMA_VERSION } from '../src/store/schema.js';
import { postUri } from '../src/atproto/identifiers.js';
import { likeFingerprint } from '../testkit/processes/db.js';

const did = (i: number) => `did:plc:${String.fromCharCode(97 + i).repeat(24)}`;
const cursor = { timeUs: 1, seq: undefined, seqHost: undefined };
type LikeRow = { id: number; actor_id: number; post_id: number; time_us: number; deleted: number };

describe('migration 3 (likes without their index by post)', () => {
  let dir: string;
  let dbPath: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'feedgen-migrate-'));
    dbPath = path.join(dir, 'feed.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A version-2 database as the shipped migrations made it, filled with SQL as version 2's writer did. */
  function buildVersion2(): { likes: LikeRow[]; rkeys: Map<number, string>; seq: number } {
    const db = new BetterSqlite3(dbPath);
    db.pragma('journal_mode = WAL');
    migrate(db, 2);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    const insertActor = db.prepare('INSERT INTO actors (did) VALUES (?)');
    for (let i = 0; i < 5; i++) insertActor.run(did(i));
    const insertPost = db.prepare('INSERT INTO posts (author_id, rkey, first_seen_us) VALUES (?, ?, ?)');
    for (let p = 0; p < 6; p++) insertPost.run(1, `3n36oga6fq${p}wl`, p);
    const insertLike = db.prepare('INSERT INTO likes (actor_id, rkey, post_id, time_us, deleted) VALUES (?, ?, ?, ?, ?)');
    for (let i = 0; i < 60; i++) {
      // TIDs, and now and then a key that is not one; post 6 gets no like at all
      const rkey = i % 7 === 3 ? `key-${i}` : `3n3${'abcdefghij'[i % 10]}ogadguxw${'234567abcd'[Math.floor(i / 10)]}`;
      insertLike.run((i % 5) + 1, rkey, (i % 5) + 1, 1000 + i, i % 4 === 0 ? 1 : 0);
    }
    // Pruned at the bottom, and the newest rows gone too: the high-water mark is above max(id).
    db.exec('DELETE FROM likes WHERE id <= 10 OR id >= 58');
    const likes = db.prepare<[], LikeRow>('SELECT id, actor_id, post_id, time_us, deleted FROM likes ORDER BY id').all();
    const rkeys = new Map(db.prepare<[], [number, string]>('SELECT id, rkey FROM likes').raw().all());
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'likes'").pluck().get() as number;
    db.close();
    return { likes, rkeys, seq };
  }

  it('keeps every like, its id, its deleted flag and the id high-water mark; bounds each post by its newest like', () => {
    const before = buildVersion2();
    expect(before.seq).toBe(60);
    const db = openWriter(dbPath, { busyTimeoutMs: 5000, walAutocheckpointPages: 1000 });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.prepare<[], LikeRow>('SELECT id, actor_id, post_id, time_us, deleted FROM likes ORDER BY id').all()).toEqual(before.likes);
      expect(db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'likes'").pluck().get()).toBe(60);
      expect(db.prepare("SELECT count(*) FROM sqlite_sequence WHERE name = 'likes_v3'").pluck().get()).toBe(0);

      // Record keys: TIDs became integers, the rest stayed text, and each reads back as it was.
      const stored = db.prepare<[], [number, bigint | string]>('SELECT id, rkey FROM likes').raw().safeIntegers(true).all();
      expect(stored.filter(([, rkey]) => typeof rkey === 'bigint').length).toBeGreaterThan(30);
      expect(stored.filter(([, rkey]) => typeof rkey === 'string').length).toBeGreaterThan(3);
      const fingerprint = likeFingerprint(db);
      const expected = before.likes.filter((l) => l.deleted === 0).map((l) => `${did(l.actor_id - 1)}|${before.rkeys.get(l.id)}|${did(0)}|3n36oga6fq${l.post_id - 1}wl`);
      expect(fingerprint).toEqual(expected.sort());

      // like_bound: the newest like of each post, deleted ones included; 0 for a post never liked.
      const bounds = new Map(db.prepare<[], [number, number]>('SELECT id, like_bound FROM posts').raw().all());
      for (let post = 1; post <= 6; post++) {
        const newest = Math.max(0, ...before.likes.filter((l) => l.post_id === post).map((l) => l.id));
        expect(bounds.get(post)).toBe(newest);
      }
      expect(bounds.get(6)).toBe(0);

      const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'likes'").pluck().all();
      expect(indexes).toEqual(['sqlite_autoindex_likes_1']);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');

      // The writer goes on from there: new ids above the high-water mark, a migrated like found by its key.
      const writer = new EventWriter(db);
      const tidLike = before.likes.find((l) => l.deleted === 0 && /^3n3/.test(before.rkeys.get(l.id)!))!;
      const textLike = before.likes.find((l) => l.deleted === 0 && before.rkeys.get(l.id)!.startsWith('key-'))!;
      const counts = writer.writeBatch(
        [
          { type: 'like', did: did(4), rkey: '3n36zzzzzzzzz', subjectUri: postUri(did(0), '3n36oga6fq0wl'), timeUs: 5000 },
          { type: 'like', did: did(tidLike.actor_id - 1), rkey: before.rkeys.get(tidLike.id)!, subjectUri: postUri(did(0), '3n36oga6fq0wl'), timeUs: 5001 },
          { type: 'like-delete', did: did(tidLike.actor_id - 1), rkey: before.rkeys.get(tidLike.id)!, timeUs: 5002 },
          { type: 'like-delete', did: did(textLike.actor_id - 1), rkey: before.rkeys.get(textLike.id)!, timeUs: 5003 },
        ],
        cursor,
      );
      expect(counts.like).toEqual({ stored: 1, duplicate: 1, ignored: 0 });
      expect(counts['like-delete']).toEqual({ stored: 2, duplicate: 0, ignored: 0 });
      expect(db.prepare('SELECT max(id) FROM likes').pluck().get()).toBe(61);
      expect(db.prepare('SELECT deleted FROM likes WHERE id IN (?, ?)').pluck().all(tidLike.id, textLike.id)).toEqual([1, 1]);
      expect(db.prepare('SELECT like_bound >= 61 FROM posts WHERE id = 1').pluck().get()).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe('migration 4 (reposts no longer stored)', () => {
  it('drops the reposts table and its prune watermark, and keeps every like', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'feedgen-migrate-'));
    const dbPath = path.join(dir, 'feed.db');
    try {
      const old = new BetterSqlite3(dbPath);
      old.pragma('journal_mode = WAL');
      migrate(old, 3);
      old.prepare('INSERT INTO actors (did) VALUES (?)').run(did(0));
      old.prepare('INSERT INTO posts (author_id, rkey, first_seen_us) VALUES (1, ?, 1)').run('3n36oga6fq0wl');
      old.prepare('INSERT INTO likes (actor_id, rkey, post_id, time_us) VALUES (1, 1, 1, 2)').run();
      old.prepare('INSERT INTO reposts (actor_id, rkey, post_id, time_us) VALUES (1, ?, 1, 3)').run('3n36oga6fq1wl');
      old.prepare("INSERT INTO meta (key, value) VALUES ('pruned_repost_id', 7), ('pruned_like_id', 0)").run();
      old.close();

      const db = openWriter(dbPath, { busyTimeoutMs: 5000, walAutocheckpointPages: 1000 });
      try {
        expect(db.pragma('user_version', { simple: true })).toBe(4);
        expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'reposts'").pluck().get()).toBe(0);
        expect(db.prepare('SELECT key FROM meta ORDER BY key').pluck().all()).not.toContain('pruned_repost_id');
        expect(db.prepare('SELECT count(*) FROM likes').pluck().get()).toBe(1);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
