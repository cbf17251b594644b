import fs from 'node:fs';
import type { WalCommit } from './wal.js';

/** Bytes 18 and 19 of a database header: 2 = WAL, 1 = rollback journal. */
const FORMAT_VERSION_OFFSET = 18;
const ROLLBACK_FORMAT = Buffer.from([1, 1]);

/**
 * Writes committed pages into a database file as a checkpoint would: each page at
 * (pgno - 1) * pageSize, the file cut to the size of the last commit, then fsync.
 * The caller guarantees no connection has the file open meanwhile (SQLite would keep
 * serving its stale page cache).
 *
 * The copy is marked rollback-journal, not WAL: readers of a followed file then never
 * create -wal/-shm files beside it, and nothing but this writer changes it.
 */
export function writeCommits(dbPath: string, commits: WalCommit[], pageSize: number): void {
  if (commits.length === 0) return;
  const fd = fs.openSync(dbPath, 'r+');
  try {
    for (const commit of commits) {
      for (const { pgno, data } of commit.pages) fs.writeSync(fd, data, 0, pageSize, (pgno - 1) * pageSize);
    }
    fs.ftruncateSync(fd, commits[commits.length - 1]!.dbSizePages * pageSize);
    fs.writeSync(fd, ROLLBACK_FORMAT, 0, 2, FORMAT_VERSION_OFFSET);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Marks a whole database file (a restored snapshot) rollback-journal, see above. */
export function markRollbackFormat(dbPath: string): void {
  const fd = fs.openSync(dbPath, 'r+');
  try {
    fs.writeSync(fd, ROLLBACK_FORMAT, 0, 2, FORMAT_VERSION_OFFSET);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
