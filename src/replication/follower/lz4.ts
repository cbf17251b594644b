// lz4js ships no types; this is the one function used.
// @ts-expect-error -- untyped CommonJS module
import lz4js from 'lz4js';

/** Bytes that are not one whole LZ4 frame (a bad header, or a frame cut short). */
export class Lz4FormatError extends Error {
  override name = 'Lz4FormatError';
}

const FRAME_MAGIC = 0x184d2204;
const FLAG_CONTENT_SIZE = 0x08;
const FLAG_CONTENT_CHECKSUM = 0x04;
const FLAG_BLOCK_CHECKSUM = 0x10;
const FLAG_DICTIONARY_ID = 0x01;
const UNCOMPRESSED_BLOCK = 0x80000000;

/** Decodes one LZ4 frame, as Litestream writes its snapshots and WAL segments. */
export function lz4Decompress(frame: Buffer): Buffer {
  checkWholeFrame(frame);
  let out: Uint8Array;
  try {
    out = (lz4js as { decompress(src: Uint8Array): Uint8Array }).decompress(frame);
  } catch (err) {
    throw new Lz4FormatError(`not an LZ4 frame (${frame.length} bytes)`, { cause: err });
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Walks the frame's blocks to its end mark. A frame cut short (an object read while
 * still being uploaded) decodes without an error, to less: this tells it apart.
 */
function checkWholeFrame(frame: Buffer): void {
  if (frame.length < 7 || frame.readUInt32LE(0) !== FRAME_MAGIC) throw new Lz4FormatError(`not an LZ4 frame (${frame.length} bytes)`);
  const flags = frame[4]!;
  let at = 6 + (flags & FLAG_CONTENT_SIZE ? 8 : 0) + (flags & FLAG_DICTIONARY_ID ? 4 : 0) + 1; // magic, FLG, BD, options, HC
  const blockChecksum = flags & FLAG_BLOCK_CHECKSUM ? 4 : 0;
  for (;;) {
    if (at + 4 > frame.length) throw new Lz4FormatError(`LZ4 frame cut short at ${frame.length} bytes: no end mark`);
    const word = frame.readUInt32LE(at);
    at += 4;
    if (word === 0) break; // the end mark
    at += (word & ~UNCOMPRESSED_BLOCK) + blockChecksum;
  }
  if (at + (flags & FLAG_CONTENT_CHECKSUM ? 4 : 0) > frame.length) throw new Lz4FormatError(`LZ4 frame cut short at ${frame.length} bytes: no content checksum`);
}
