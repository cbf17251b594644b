import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IngestEvent } from '../../src/ingest/events.js';
import { parseFrame } from '../../src/ingest/parse.js';
import { EventWriter } from '../../src/ingest/writer/event-writer.js';
import { type AnyDb, openWriter, type WriterDb } from '../../src/store/database.js';
import { defineRecordKeyText } from '../../src/store/record-key.js';

/** A fresh writer database in its own temporary folder, removed by `cleanup`. */
export function tempDatabase(): { db: WriterDb; dbPath: string; dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'feedgen-test-'));
  const dbPath = path.join(dir, 'feed.db');
  const db = openWriter(dbPath, { busyTimeoutMs: 5000, walAutocheckpointPages: 1000 });
  return {
    db,
    dbPath,
    dir,
    cleanup: () => {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every live like as "actor did|rkey|author did|post rkey", sorted: a comparable fingerprint. */
export function likeFingerprint(db: AnyDb): string[] {
  defineRecordKeyText(db);
  return db
    .prepare<[], { k: string }>(
      `SELECT a.did || '|' || record_key_text(l.rkey) || '|' || pa.did || '|' || p.rkey AS k
       FROM likes l JOIN actors a ON a.id = l.actor_id JOIN posts p ON p.id = l.post_id JOIN actors pa ON pa.id = p.author_id
       WHERE l.deleted = 0 ORDER BY k`,
    )
    .all()
    .map((row) => row.k);
}

/** The likes a stream's lines leave when every parsed event is written in one batch: what any ingest of them must end with. */
export function streamLikeFingerprint(lines: string[]): string[] {
  const reference = tempDatabase();
  try {
    const events = lines.flatMap((line): IngestEvent[] => {
      const result = parseFrame(Buffer.from(line), false, 1 << 20);
      return result.outcome === 'event' ? [result.event] : [];
    });
    new EventWriter(reference.db).writeBatch(events, { timeUs: 1, seq: undefined, seqHost: undefined });
    return likeFingerprint(reference.db);
  } finally {
    reference.cleanup();
  }
}
