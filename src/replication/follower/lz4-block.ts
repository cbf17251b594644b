/** LZ4 block decoding (the sequences inside a frame's block), every read and write bounds-checked. */

/** A block that does not decode: damaged bytes, never a reason to read or write outside the buffers. */
export class Lz4BlockError extends Error {
  override name = 'Lz4BlockError';
}

const MIN_MATCH = 4;
/** Below this, a byte loop beats a call to copyWithin or set. */
const SHORT_COPY = 32;

/**
 * Decodes the block `src` into `dst` from `start` on; `dst[0, start)` is the history a match
 * may copy from (the blocks before, in linked mode). Returns where the output ends; never
 * writes past `dst.length`, the frame's maximum block size after the history.
 */
export function decodeBlock(src: Uint8Array, dst: Uint8Array, start: number): number {
  const srcEnd = src.length;
  const dstEnd = dst.length;
  let s = 0;
  let d = start;
  while (s < srcEnd) {
    const token = src[s++]!;

    // 1. Literals: a length in the token's high nibble, continued by bytes while 255.
    let literals = token >>> 4;
    if (literals === 15) {
      let more: number;
      do {
        if (s >= srcEnd) throw new Lz4BlockError('literal length runs past the block');
        more = src[s++]!;
        literals += more;
      } while (more === 255);
    }
    if (s + literals > srcEnd) throw new Lz4BlockError(`${literals} literals run past the block`);
    if (d + literals > dstEnd) throw new Lz4BlockError('block decodes past the maximum block size');
    if (literals < SHORT_COPY) for (const end = s + literals; s < end; ) dst[d++] = src[s++]!;
    else {
      dst.set(src.subarray(s, s + literals), d);
      s += literals;
      d += literals;
    }
    if (s === srcEnd) break; // the last sequence has literals only

    // 2. The match: an offset back into what is decoded, then a length in the low nibble.
    if (s + 2 > srcEnd) throw new Lz4BlockError('match offset runs past the block');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d) throw new Lz4BlockError(`match offset ${offset} reaches before the data (${d} bytes decoded)`);
    let length = token & 15;
    if (length === 15) {
      let more: number;
      do {
        if (s >= srcEnd) throw new Lz4BlockError('match length runs past the block');
        more = src[s++]!;
        length += more;
      } while (more === 255);
    }
    length += MIN_MATCH;
    if (d + length > dstEnd) throw new Lz4BlockError('block decodes past the maximum block size');
    // An offset shorter than the length repeats what the match itself writes: byte by byte.
    if (length < SHORT_COPY || offset < length) for (let from = d - offset, end = d + length; d < end; ) dst[d++] = dst[from++]!;
    else {
      dst.copyWithin(d, d - offset, d - offset + length);
      d += length;
    }
  }
  return d;
}
