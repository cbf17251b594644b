import fs from 'node:fs';
import path from 'node:path';

/**
 * Bytes in Litestream's shadow WAL folder (`.feed.db-litestream` beside the database):
 * every WAL segment not yet uploaded stays there. While the object store is down it grows
 * with the write rate (about 3.4 MB/s at 2,000 likes/s), unlike the database's own WAL,
 * which Litestream keeps checkpointing: on a long outage this is what fills the volume.
 * 0 when there is no such folder (no Litestream).
 */
export function shadowWalBytes(dbPath: string): number {
  return folderBytes(shadowDirOf(dbPath));
}

/** Litestream's local state for a database: `.feed.db-litestream` beside it. */
export function shadowDirOf(dbPath: string): string {
  return path.join(path.dirname(dbPath), `.${path.basename(dbPath)}-litestream`);
}

function folderBytes(dir: string): number {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let total = 0;
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    try {
      total += entry.isDirectory() ? folderBytes(full) : fs.statSync(full).size;
    } catch {
      // Litestream removed it meanwhile (it cleans segments once uploaded)
    }
  }
  return total;
}
