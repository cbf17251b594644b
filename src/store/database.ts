import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { migrate } from './schema.js';

/**
 * The one place that opens SQLite. Two connection types keep the roles apart: only the
 * primary's writer thread gets a WriterDb; replicas, the like graph and the feed get a
 * ReaderDb, so code handed a reader cannot be handed to something that writes.
 */
declare const connectionRole: unique symbol;
export type WriterDb = Database & { readonly [connectionRole]: 'writer' };
export type ReaderDb = Database & { readonly [connectionRole]: 'reader' };
/** Either kind, for code that only reads and runs on both sides. */
export type AnyDb = Database;

export interface DbOptions {
  busyTimeoutMs: number;
  /** Pages; 0 = never checkpoint automatically (Litestream owns checkpoints). */
  walAutocheckpointPages: number;
}

/**
 * Pages of a new database. Each write transaction puts every page it touched into the
 * WAL whole, and at the firehose's batch sizes a batch touches a dozen or so pages
 * (table tails, index edges, meta, sqlite_sequence, page 1). Measured on 3 M likes
 * (npm run bench:store -- --no-head --page-sizes 2048,4096): WAL per live event 310 /
 * 497 / 827 bytes at 1 / 2 / 4 KiB pages, database 76.3 / 75.2 / 74.6 bytes a like, the
 * like graph's load 3.96 / 4.16 / 3.98 s and its scan of the likes 2.84 / 2.78 / 2.62 s:
 * reads in id order cost about the same, so the smallest WAL wins.
 * A database made with other pages keeps them (WAL mode cannot change the page size).
 */
export const NEW_DATABASE_PAGE_BYTES = 1024;

/** A one-off look at a file (a check, a fingerprint): no waiting for locks is needed. */
const INSPECTION_BUSY_TIMEOUT_MS = 5000;

/**
 * The one writer connection. WAL so readers never block it; synchronous=NORMAL is
 * durable across a process crash (the WAL is fsynced at checkpoints, as Litestream expects).
 */
export function openWriter(dbPath: string, options: DbOptions): WriterDb {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new BetterSqlite3(dbPath);
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    db.pragma(`page_size = ${NEW_DATABASE_PAGE_BYTES}`); // takes effect only on a new, empty file
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, expected wal`);
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${options.walAutocheckpointPages}`);
    db.pragma('cache_size = -65536'); // KiB: 64 MiB keeps the hot index pages in memory
    db.pragma('temp_store = MEMORY');
    migrate(db);
    return db as WriterDb;
  } catch (err) {
    db.close();
    throw new Error(`open database ${dbPath}`, { cause: err });
  }
}

/** A read-only connection to an existing file: what replicas and the like-graph index get. */
export function openReader(dbPath: string, options: Pick<DbOptions, 'busyTimeoutMs'> = { busyTimeoutMs: INSPECTION_BUSY_TIMEOUT_MS }): ReaderDb {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  return db as ReaderDb;
}

/** Opens `dbPath` read-only, runs `read`, and closes the connection whatever happens. */
export function withReader<T>(dbPath: string, read: (db: ReaderDb) => T): T {
  const db = openReader(dbPath);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/**
 * Read-write, without migrations or pragmas, on a file this process has just made (a
 * restore's output): closing it then removes the -wal and -shm files a read-only
 * connection would leave beside it.
 */
export function withWritableNewFile<T>(file: string, use: (db: AnyDb) => T): T {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    return use(db);
  } finally {
    db.close();
  }
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
