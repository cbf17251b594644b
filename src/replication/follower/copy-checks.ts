import { withReader } from '../../store/database.js';

/** The primary's heartbeat (ms since the epoch) as a copy holds it: the measure of lag. */
export function readHeartbeatMs(dbPath: string): number | undefined {
  return withReader(dbPath, (db) => {
    try {
      const row = db.prepare('SELECT time_ms FROM heartbeat WHERE id = 1').get() as { time_ms: number } | undefined;
      return row?.time_ms;
    } catch {
      return undefined; // a database older than the heartbeat table: no lag known yet
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
