import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openWriter } from '../../../src/store/database.js';
import { EventWriter } from '../../../src/ingest/writer/event-writer.js';
import type { IngestEvent } from '../../../src/ingest/events.js';
import { parseFrame } from '../../../src/ingest/parse.js';
import { likeFingerprint } from '../../../testkit/processes/db.js';

/**
 * The likes a stream file must leave in the database: every line parsed and written in
 * one go, with nothing in the way. What a faulty run ends with is compared to this.
 * Also returns the file's line count (the frames the replay will send).
 */
export function expectedLikes(streamFile: string): { likes: string[]; lines: number } {
  const lines = readFileSync(streamFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  const events = lines.flatMap((line): IngestEvent[] => {
    const result = parseFrame(Buffer.from(line), false, 1 << 20);
    return result.outcome === 'event' ? [result.event] : [];
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'feedgen-chaos-reference-'));
  const db = openWriter(path.join(dir, 'feed.db'), { busyTimeoutMs: 5000, walAutocheckpointPages: 1000 });
  try {
    new EventWriter(db).writeBatch(events, { timeUs: 1, seq: undefined, seqHost: undefined });
    return { likes: likeFingerprint(db), lines: lines.length };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
