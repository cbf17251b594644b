import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { migrate } from './schema.js';

export type { Database } from 'better-sqlite3';

export interface DbOptions {
  busyTimeoutMs: number;
  /** Pages; 0 = never checkpoint automatically (Litestream owns checkpoints). */
  walAutocheckpointPages: number;
}

/**
 * The one writer connection. WAL so readers never block it; synchronous=NORMAL is
 * durable across a process crash (the WAL is fsynced at checkpoints, as Litestream expects).
 */
export function openWriter(dbPath: string, options: DbOptions): Database {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new BetterSqlite3(dbPath);
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, expected wal`);
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages}`);
    db.pragma('cache_size = -65536'); // KiB: 64 MiB keeps the hot index pages in memory
    db.pragma('temp_store = MEMORY');
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw new Error(`open database ${dbPath}`, { cause: err });
  }
}

/** A read-only connection: what replicas and the like-graph index get. */
export function openReader(dbPath: string, options: Pick<DbOptions, 'busyTimeoutMs'>): Database {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  return db;
}

/** Sizes of the database file and its WAL, for metrics (0 when absent). */
export function fileSizes(dbPath: string): { dbBytes: number; walBytes: number } {
  return { dbBytes: sizeOf(dbPath), walBytes: sizeOf(`${dbPath}-wal`) };
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
