import { randomBytes } from 'node:crypto';
// @ts-expect-error -- untyped CommonJS module
import lz4js from 'lz4js';
import { describe, expect, it } from 'vitest';
import { Lz4FormatError, lz4Decompress } from '../src/replication/follower/lz4.js';

const compress = (bytes: Buffer) => Buffer.from((lz4js as { compress(src: Uint8Array): Uint8Array }).compress(bytes));

describe('LZ4 frames', () => {
  // Random bytes do not compress: 5 MB make two blocks of the default 4 MB, stored as is.
  const content = randomBytes(5 * 1024 * 1024);
  const frame = compress(content);
  const firstBlockEnd = 7 + 4 + (frame.readUInt32LE(7) & 0x7fffffff);

  it('decode to the bytes compressed', () => {
    expect(Buffer.compare(lz4Decompress(frame), content)).toBe(0);
    const text = Buffer.from('a WAL frame '.repeat(10_000));
    expect(lz4Decompress(compress(text)).toString()).toBe(text.toString());
  });

  it('cut short anywhere (an object read mid-upload) are refused, not decoded to less', () => {
    expect(firstBlockEnd).toBeLessThan(frame.length - 4);
    for (const length of [0, 4, 6, 7, 11, 1000, firstBlockEnd, firstBlockEnd + 4, firstBlockEnd + 100, frame.length - 4, frame.length - 1]) {
      expect(() => lz4Decompress(frame.subarray(0, length)), `first ${length} of ${frame.length} bytes`).toThrow(Lz4FormatError);
    }
  });

  it('with a bad magic number are refused', () => {
    const bad = Buffer.from(frame.subarray(0, 1000));
    bad[0]! ^= 1;
    expect(() => lz4Decompress(bad)).toThrow(/not an LZ4 frame/);
  });
});
