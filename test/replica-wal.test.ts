import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCommits } from '../src/replication/follower/page-writer.js';
import { readWalFrames, readWalHeader, WAL_HEADER_BYTES, walChecksum, WalFormatError } from '../src/replication/follower/wal.js';
import { tempDatabase } from '../testkit/processes/db.js';
import { withReader } from '../src/store/database.js';

/** A real WAL written by SQLite: a table, then `rows` inserts, one transaction each. */
function realWal(rows: number) {
  const { db, dbPath, dir, cleanup } = tempDatabase();
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY, v TEXT)');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const checkpointed = fs.readFileSync(dbPath);
  for (let i = 0; i < rows; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run(`row ${i} `.repeat(50));
  const wal = fs.readFileSync(`${dbPath}-wal`);
  return { dir, cleanup, wal, checkpointed };
}

describe('WAL reading', () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => cleanups.forEach((c) => c()));

  it('reads the commits of a real SQLite WAL, and writing them reproduces the database', () => {
    const source = realWal(40);
    cleanups.push(source.cleanup);
    const state = readWalHeader(source.wal.subarray(0, WAL_HEADER_BYTES));
    const { commits } = readWalFrames(source.wal.subarray(WAL_HEADER_BYTES), state);
    expect(commits).toHaveLength(40);

    const copy = path.join(source.dir, 'copy.db');
    fs.writeFileSync(copy, source.checkpointed);
    writeCommits(copy, commits, state.pageSize);
    withReader(copy, (db) => {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(40);
    });
  });

  it('checksums words the same on the fast (aligned) path and the byte-by-byte one', () => {
    const source = realWal(3);
    cleanups.push(source.cleanup);
    const aligned = Buffer.from(source.wal);
    const shifted = Buffer.alloc(aligned.length + 1).subarray(1); // one byte off a word boundary
    aligned.copy(shifted);
    expect((aligned.byteOffset + 32) % 4).toBe(0);
    expect((shifted.byteOffset + 32) % 4).not.toBe(0);
    const seed: [number, number] = [12345, 67890];
    expect(walChecksum(shifted, 32, shifted.length, seed, false)).toEqual(walChecksum(aligned, 32, aligned.length, seed, false));
  });

  it('continues the checksum chain across segments split at commits', () => {
    const source = realWal(10);
    cleanups.push(source.cleanup);
    const state = readWalHeader(source.wal.subarray(0, WAL_HEADER_BYTES));
    const frames = source.wal.subarray(WAL_HEADER_BYTES);
    const frameBytes = 24 + state.pageSize;
    // Cut after the first commit frame.
    let cut = 0;
    while (frames.readUInt32BE(cut + 4) === 0) cut += frameBytes;
    cut += frameBytes;
    const first = readWalFrames(frames.subarray(0, cut), state);
    const second = readWalFrames(frames.subarray(cut), first.state);
    expect(first.commits.length + second.commits.length).toBe(10);
    // The second half alone, seeded by the header instead of the chain, is refused.
    expect(() => readWalFrames(frames.subarray(cut), state)).toThrow(/checksum mismatch/);
  });

  it('refuses a damaged byte, a torn frame, a segment without a final commit, and a bad header', () => {
    const source = realWal(30);
    cleanups.push(source.cleanup);
    const state = readWalHeader(source.wal.subarray(0, WAL_HEADER_BYTES));
    const frames = Buffer.from(source.wal.subarray(WAL_HEADER_BYTES));
    const frameBytes = 24 + state.pageSize;

    const damaged = Buffer.from(frames);
    damaged[frameBytes + 24 + 100]! ^= 0x01;
    expect(() => readWalFrames(damaged, state)).toThrow(WalFormatError);
    expect(() => readWalFrames(frames.subarray(0, frames.length - 10), state)).toThrow(/not whole frames/);
    // The table's first leaf splits on the way: some transaction spans several frames.
    let midTransaction = 0;
    while (frames.readUInt32BE(midTransaction + 4) !== 0) midTransaction += frameBytes;
    expect(() => readWalFrames(frames.subarray(0, midTransaction + frameBytes), state)).toThrow(/does not end on a commit/);
    const foreignSalt = Buffer.from(frames);
    foreignSalt.writeUInt32BE((state.salt1 ^ 1) >>> 0, 8);
    expect(() => readWalFrames(foreignSalt, state)).toThrow(/salt/);
    const badHeader = Buffer.from(source.wal.subarray(0, WAL_HEADER_BYTES));
    badHeader[12]! ^= 1;
    expect(() => readWalHeader(badHeader)).toThrow(/header checksum/);
  });
});
