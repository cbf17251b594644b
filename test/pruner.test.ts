import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WriterDb as Database } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { META, MetaTable } from '../src/store/meta.js';
import { Pruner } from '../src/store/pruner.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { postUri } from '../src/atproto/identifiers.js';
import { likeFingerprint, tempDatabase } from '../testkit/processes/db.js';

const actor = (i: number) => `did:plc:${String.fromCharCode(97 + (i % 26)).repeat(24)}`;
const cursor = { timeUs: 1, seq: undefined, seqHost: undefined };

describe('Pruner', () => {
  let db: Database;
  let cleanup: () => void;
  let writer: EventWriter;
  let pruner: Pruner;

  beforeEach(() => {
    ({ db, cleanup } = tempDatabase());
    writer = new EventWriter(db);
    pruner = new Pruner(db, writer);
  });
  afterEach(() => cleanup());

  /** 100 likes at times 0..99 on 10 posts; post i%10 by actor 0. */
  const seed = () => {
    const events: IngestEvent[] = [];
    for (let t = 0; t < 100; t++) {
      events.push({ type: 'like', did: actor(t), rkey: `l${t}`, subjectUri: postUri(actor(0), `p${t % 10}`), timeUs: t });
    }
    writer.writeBatch(events, cursor);
  };

  it('removes likes older than the cutoff in small batches, oldest first', () => {
    seed();
    const first = pruner.pruneStep(50, 20);
    expect(first).toMatchObject({ likes: 20, more: true });
    let steps = 1;
    while (pruner.pruneStep(50, 20).more) steps++;
    expect(steps).toBeLessThanOrEqual(3);
    const times = db.prepare<[], { t: number }>('SELECT time_us AS t FROM likes ORDER BY t').all().map((r) => r.t);
    expect(times[0]).toBe(50);
    expect(times).toHaveLength(50);
    expect(writer.liveLikeCount()).toBe(50);
    expect(new MetaTable(db).number(META.prunedLikeId)).toBe(50);
  });

  it('drops old posts once nothing likes them, and keeps liked ones', () => {
    seed();
    // Every post keeps a like in the window (posts p0..p9 are liked at 90..99).
    while (pruner.pruneStep(90, 1000).more);
    expect(db.prepare('SELECT count(*) AS n FROM posts').get()).toEqual({ n: 10 });
    while (pruner.pruneStep(1000, 1000).more);
    pruner.pruneStep(1000, 1000); // the post sweep finishes its lap
    expect(likeFingerprint(db)).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM posts').get()).toEqual({ n: 0 });
  });

  it('does nothing when everything is inside the window', () => {
    seed();
    expect(pruner.pruneStep(0, 1000)).toEqual({ likes: 0, posts: 0, changes: 0, more: false });
  });
});

describe('Pruner and the writer cache', () => {
  it('never lets a new like point at a pruned post', () => {
    const { db, cleanup } = tempDatabase();
    try {
      const writer = new EventWriter(db);
      const pruner = new Pruner(db, writer);
      const uri = postUri(actor(0), 'p1');
      writer.writeBatch([{ type: 'like', did: actor(1), rkey: 'l1', subjectUri: uri, timeUs: 1 }], cursor);
      while (pruner.pruneStep(1000, 100).more);
      pruner.pruneStep(1000, 100);
      expect(db.prepare('SELECT count(*) AS n FROM posts').get()).toEqual({ n: 0 });
      writer.writeBatch([{ type: 'like', did: actor(2), rkey: 'l2', subjectUri: uri, timeUs: 2000 }], cursor);
      expect(likeFingerprint(db)).toEqual([`${actor(2)}|l2|${actor(0)}|p1`]);
    } finally {
      cleanup();
    }
  });
});
