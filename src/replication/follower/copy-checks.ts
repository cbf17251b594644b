import { withReader } from '../../store/database.js';
import { META, MetaTable, type PrimaryFeedState } from '../../store/meta.js';

/** What a copy holds of the primary's own state. */
export interface PrimarySignals {
  /** The primary's heartbeat (ms since the epoch): the measure of lag. */
  heartbeatMs: number | undefined;
  /** Undefined in a copy of a primary that predates the signal. */
  feed: PrimaryFeedState | undefined;
  /** Why the primary's ingest is paused; undefined while it writes. */
  ingestPaused?: string;
}

export function readPrimarySignals(dbPath: string): PrimarySignals {
  return withReader(dbPath, (db) => {
    try {
      const row = db.prepare('SELECT time_ms FROM heartbeat WHERE id = 1').get() as { time_ms: number } | undefined;
      const meta = new MetaTable(db);
      const feed = meta.string(META.primaryFeed) as PrimaryFeedState | undefined;
      return { heartbeatMs: row?.time_ms, feed, ingestPaused: meta.string(META.ingestPaused) };
    } catch {
      return { heartbeatMs: undefined, feed: undefined }; // a database older than these tables: nothing known yet
    }
  });
}

/** SQLite's quick_check of a copy: 'ok', or what is wrong with it. */
export function quickCheck(dbPath: string): string {
  try {
    return withReader(dbPath, (db) => String(db.pragma('quick_check', { simple: true })));
  } catch (err) {
    return String(err);
  }
}
