/**
 * A prune step is one transaction, and it can fail after it has counted the likes it
 * removed: on a full disk the COMMIT is what fails (SQLITE_FULL). The rollback restores
 * the rows; the writer's live-like count must come back with them, or every later batch
 * persists a count short by the likes that were never removed.
 */
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
const like = (t: number): IngestEvent => ({ type: 'like', did: actor(t), rkey: `l${t}`, subjectUri: postUri(actor(0), `p${t % 10}`), timeUs: t });

describe('a prune step that fails and rolls back', () => {
  let db: Database;
  let cleanup: () => void;
  beforeEach(() => ({ db, cleanup } = tempDatabase()));
  afterEach(() => cleanup());

  it('leaves the live-like count as it was, in memory and in what the next batch stores', () => {
    const writer = new EventWriter(db);
    const pruner = new Pruner(db, writer);
    writer.writeBatch(Array.from({ length: 100 }, (_, t) => like(t)), cursor);

    // The step's last write fails, after the likes were deleted and counted: as a COMMIT
    // on a full disk does (a trigger stands in for the disk; the rollback is SQLite's own).
    db.exec(`CREATE TEMP TRIGGER fail_sweep BEFORE INSERT ON main.meta WHEN NEW.key = '${META.postSweepId}'
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    expect(() => pruner.pruneStep(50, 20)).toThrow(/disk is full/);
    expect(likeFingerprint(db)).toHaveLength(100);
    expect(writer.liveLikeCount()).toBe(100);

    db.exec('DROP TRIGGER fail_sweep');
    writer.writeBatch([like(100)], cursor);
    expect(new MetaTable(db).number(META.liveLikes)).toBe(101);
    expect(pruner.pruneStep(50, 100).likes).toBe(50);
    expect(writer.liveLikeCount()).toBe(51);
  });
});
