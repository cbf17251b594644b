// lz4js ships no types; this is the one function used.
// @ts-expect-error -- untyped CommonJS module
import lz4js from 'lz4js';

/** Decodes one LZ4 frame, as Litestream writes its snapshots and WAL segments. */
export function lz4Decompress(frame: Buffer): Buffer {
  const out = (lz4js as { decompress(src: Uint8Array): Uint8Array }).decompress(frame);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}
