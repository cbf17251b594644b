/**
 * The streaming LZ4 frame decoder against what the real Litestream 0.3.13 writes (its Go
 * lz4 writer: independent 4 MB blocks with a content checksum), fed in every chunking.
 * The reference is the whole-buffer decoder restore used before (lz4js) and the database.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error -- untyped CommonJS module
import lz4js from 'lz4js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lz4FormatError } from '../src/replication/follower/lz4.js';
import { openWriter, withReader } from '../src/store/database.js';
import { type LitestreamFiles, litestreamFilesOf } from '../testkit/processes/litestream-files.js';
import { seeded } from '../testkit/random.js';
import { CHUNKINGS, decodeInChunks } from './replica-lz4-chunks.js';

const oldDecoder = (frame: Buffer) => Buffer.from((lz4js as { decompress(src: Uint8Array): Uint8Array }).decompress(frame));
const ROWS_BEFORE = 60_000;
const ROWS_AFTER = 2_000;

let dir: string;
let files: LitestreamFiles;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedgen-lz4-litestream-'));
  const dbPath = path.join(dir, 'primary.db');
  const db = openWriter(dbPath, { busyTimeoutMs: 5000, walAutocheckpointPages: 0 });
  db.exec('CREATE TABLE t (x INTEGER PRIMARY KEY, v TEXT, b BLOB)');
  // Text that compresses and random blobs that do not: blocks of both kinds.
  const insert = db.prepare('INSERT INTO t (v, b) VALUES (?, ?)');
  const random = seeded(7);
  const rows = (count: number) => db.transaction(() => {
    for (let i = 0; i < count; i++) insert.run(`row ${i} ${'like '.repeat(1 + Math.floor(random() * 20))}`, i % 8 === 0 ? randomBytes(1000) : null);
  })();
  rows(ROWS_BEFORE);
  db.pragma('wal_checkpoint(TRUNCATE)');
  files = await litestreamFilesOf(dbPath, path.join(dir, 'replica'), { afterSnapshot: () => rows(ROWS_AFTER) });
  db.close();
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('LZ4 frames that Litestream wrote', () => {
  it('use independent blocks of at most 4 MB and a content checksum (what the decoder must at least read)', () => {
    const snapshot = fs.readFileSync(files.snapshot);
    expect(snapshot.readUInt32LE(0)).toBe(0x184d2204);
    const flags = snapshot[4]!;
    expect(flags & 0x20).toBe(0x20); // independent blocks
    expect(flags & 0x04).toBe(0x04); // content checksum
    expect((snapshot[5]! >> 4) & 7).toBe(7); // 4 MB blocks
    expect(snapshot.length).toBeGreaterThan(4 << 20); // more than one block
    expect(files.walSegments.length).toBeGreaterThanOrEqual(2);
  });

  for (const [chunking, sizes] of Object.entries(CHUNKINGS)) {
    it(`decode fed ${chunking} at a time to what the whole-buffer decoder gives: the snapshot and every WAL segment`, () => {
      for (const file of [files.snapshot, ...files.walSegments]) {
        const frame = fs.readFileSync(file);
        const { output, decoder } = decodeInChunks(frame, sizes(frame.length));
        expect(Buffer.compare(output, oldDecoder(frame)), file).toBe(0);
        expect(decoder.decodedBytes).toBe(output.length);
        // Never more input held than one 4 MB block (its size word too) and the chunk that completed it.
        const largestChunk = sizes(frame.length).reduce((a, b) => Math.max(a, b), 0);
        expect(decoder.peakInputBytes).toBeLessThanOrEqual((4 << 20) + 4 + largestChunk);
      }
    });
  }

  it('decode the snapshot to the database as it was when Litestream took it', () => {
    const frame = fs.readFileSync(files.snapshot);
    const restored = path.join(dir, 'snapshot.db');
    fs.writeFileSync(restored, decodeInChunks(frame, CHUNKINGS['random sizes']!(frame.length)).output);
    withReader(restored, (db) => {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(ROWS_BEFORE);
    });
  });

  it('cut short anywhere are refused by end, not decoded to less', () => {
    const frame = fs.readFileSync(files.snapshot);
    const firstBlockEnd = 7 + 4 + (frame.readUInt32LE(7) & 0x7fffffff);
    for (const length of [0, 3, 5, 6, 7, 10, 11, 5000, firstBlockEnd, firstBlockEnd + 4, frame.length - 8, frame.length - 4, frame.length - 1]) {
      expect(() => decodeInChunks(frame.subarray(0, length), CHUNKINGS['random sizes']!(length)), `first ${length} of ${frame.length} bytes`).toThrow(Lz4FormatError);
    }
  });

  it('with any byte damaged are refused with a clear error, never decoded to other bytes', () => {
    const frame = fs.readFileSync(files.snapshot);
    const original = decodeInChunks(frame, [frame.length]).output;
    const random = seeded(11);
    for (let k = 0; k < 40; k++) {
      const damaged = Buffer.from(frame);
      const at = 4 + Math.floor(random() * (frame.length - 4));
      damaged[at]! ^= 1 + Math.floor(random() * 255);
      // A damaged match offset can point at equal bytes (zeros, say): the same output is no harm.
      let decoded: Buffer | undefined;
      try {
        decoded = decodeInChunks(damaged, [damaged.length]).output;
      } catch (err) {
        expect((err as Error).message, `byte ${at} of ${frame.length}`).toMatch(/LZ4 (frame|block)|not an LZ4 frame/);
      }
      if (decoded) expect(decoded.equals(original), `byte ${at} of ${frame.length} decoded to other bytes`).toBe(true);
    }
  });
});
