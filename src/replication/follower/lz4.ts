import { Lz4FrameDecoder } from './lz4-frame-decoder.js';

export { Lz4FormatError, Lz4FrameDecoder } from './lz4-frame-decoder.js';

/** Decodes one whole LZ4 frame held in memory, as Litestream writes its WAL segments. */
export function lz4Decompress(frame: Buffer): Buffer {
  const decoder = new Lz4FrameDecoder();
  const blocks = decoder.push(frame);
  decoder.end();
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks, decoder.decodedBytes);
}
