/** Feeding the LZ4 frame decoder the way a download does: in chunks of every kind of size. */
import { Lz4FrameDecoder } from '../src/replication/follower/lz4.js';
import { seeded } from '../testkit/random.js';

/** Chunkings of a download: a byte at a time, an odd small size, random sizes up to 64 KiB, all at once. */
export const CHUNKINGS: Record<string, (length: number) => number[]> = {
  '1 byte': (length) => Array.from({ length }, () => 1),
  '7 bytes': (length) => splitEvery(length, 7),
  'random sizes': (length) => {
    const random = seeded(length);
    const sizes: number[] = [];
    for (let left = length; left > 0; ) {
      const size = Math.min(left, 1 + Math.floor(random() * random() * 65536));
      sizes.push(size);
      left -= size;
    }
    return sizes;
  },
  whole: (length) => [length],
};

/** Decodes `frame` pushed in pieces of `sizes`, checking it is whole at the end. */
export function decodeInChunks(frame: Buffer, sizes: number[]): { output: Buffer; decoder: Lz4FrameDecoder } {
  const decoder = new Lz4FrameDecoder();
  const blocks: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    for (const block of decoder.push(frame.subarray(at, at + size))) blocks.push(block);
    at += size;
  }
  decoder.end();
  return { output: Buffer.concat(blocks), decoder };
}

function splitEvery(length: number, size: number): number[] {
  return Array.from({ length: Math.ceil(length / size) }, (_, i) => Math.min(size, length - i * size));
}
