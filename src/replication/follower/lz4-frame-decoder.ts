import { ByteQueue } from './byte-queue.js';
import { decodeBlock, Lz4BlockError } from './lz4-block.js';
import { Xxhash32, xxhash32 } from './xxhash32.js';

/** Bytes that are not whole LZ4 frames (a bad header, a damaged block, a checksum that differs, or a frame cut short). */
export class Lz4FormatError extends Error {
  override name = 'Lz4FormatError';
}

const FRAME_MAGIC = 0x184d2204;
/** Skippable frames: magic 0x184D2A50 to 0x184D2A5F, a size, then that many bytes to ignore. */
const SKIPPABLE_MAGIC = 0x184d2a50;
const SKIPPABLE_MASK = 0xfffffff0;
const VERSION_MASK = 0xc0;
const VERSION_01 = 0x40;
const FLAG_INDEPENDENT_BLOCKS = 0x20;
const FLAG_BLOCK_CHECKSUM = 0x10;
const FLAG_CONTENT_SIZE = 0x08;
const FLAG_CONTENT_CHECKSUM = 0x04;
const FLAG_DICTIONARY_ID = 0x01;
const FLAG_RESERVED = 0x02;
const UNCOMPRESSED_BLOCK = 0x80000000;
/** Block maximum sizes by the BD byte's code. */
const MAX_BLOCK_SIZES: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
/** The largest block a frame may hold, its size word and checksum: the most input one step needs. */
export const LARGEST_BLOCK_BYTES = (4 << 20) + 4 + 4;
/** How far back a match reaches: what a linked block may copy from the blocks before it. */
const WINDOW = 64 << 10;

interface FrameHeader {
  maxBlockSize: number;
  linked: boolean;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize: number | undefined;
}

type Stage = 'magic' | 'flags' | 'descriptor' | 'block size' | 'block' | 'content checksum' | 'skippable size' | 'skip';

/**
 * Decodes LZ4 frames (Litestream writes one per snapshot or WAL segment) as their bytes
 * arrive, a block at a time: it holds at most one block of input, the block being
 * decoded and the 64 KiB window, whatever the frame's size. Every checksum the frame
 * carries is verified (header, blocks, content) and so is its content size; frames
 * concatenated decode one after the other and skippable frames are passed over. The
 * input counts as whole only at a frame's end: bytes cut short (an object read while
 * still being uploaded) are refused by `end`, not decoded to less.
 */
export class Lz4FrameDecoder {
  private readonly input = new ByteQueue();
  private stage: Stage = 'magic';
  private header: FrameHeader | undefined;
  /** The frame's FLG byte, read before the rest of its descriptor. */
  private flags = 0;
  private blockWord = 0;
  private skipLeft = 0;
  /** The last WINDOW bytes decoded, for linked blocks. */
  private history: Buffer = Buffer.alloc(0);
  private content = new Xxhash32();
  private frameBytes = 0;
  private frames = 0;
  private received = 0;
  private decoded = 0;

  /** Bytes decoded so far, over every frame. */
  get decodedBytes(): number {
    return this.decoded;
  }

  /** The most input ever held at once, waiting for the rest of a block. */
  get peakInputBytes(): number {
    return this.input.peakLength;
  }

  /** Feeds the next bytes; returns the blocks they complete, decoded, in order. */
  push(chunk: Uint8Array): Buffer[] {
    this.received += chunk.byteLength;
    this.input.push(chunk);
    const blocks: Buffer[] = [];
    for (;;) {
      if (this.stage === 'skip') {
        const count = Math.min(this.skipLeft, this.input.length);
        this.input.skip(count);
        this.skipLeft -= count;
        if (this.skipLeft > 0) return blocks;
        this.stage = 'magic';
        continue;
      }
      const needed = this.bytesNeeded();
      if (this.input.length < needed || this.input.length === 0) return blocks;
      const block = this.step(this.input.take(needed));
      if (block) blocks.push(block);
    }
  }

  /** Throws unless the input so far is whole frames. */
  end(): void {
    if (this.stage === 'magic' && this.input.length === 0 && this.frames > 0) return;
    const at = `${this.received} bytes`;
    switch (this.stage) {
      case 'magic':
      case 'flags':
      case 'descriptor':
        throw new Lz4FormatError(this.frames === 0 ? `not an LZ4 frame (${at})` : `LZ4 frame cut short in its header at ${at}`);
      case 'content checksum':
        throw new Lz4FormatError(`LZ4 frame cut short at ${at}: no content checksum`);
      case 'skippable size':
      case 'skip':
        throw new Lz4FormatError(`skippable LZ4 frame cut short at ${at}`);
      default:
        throw new Lz4FormatError(`LZ4 frame cut short at ${at}: no end mark`);
    }
  }

  private bytesNeeded(): number {
    switch (this.stage) {
      case 'magic':
      case 'skippable size':
      case 'block size':
      case 'content checksum':
        return 4;
      case 'flags':
        return 1;
      case 'descriptor':
        return descriptorRest(this.flags);
      case 'block':
        return (this.blockWord & ~UNCOMPRESSED_BLOCK) + (this.header!.blockChecksum ? 4 : 0);
      case 'skip':
        return this.skipLeft;
    }
  }

  private step(bytes: Buffer): Buffer | undefined {
    switch (this.stage) {
      case 'magic': {
        const magic = bytes.readUInt32LE(0);
        if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.stage = 'skippable size';
        else if (magic === FRAME_MAGIC) this.stage = 'flags';
        else throw new Lz4FormatError(`not an LZ4 frame (bad magic number 0x${magic.toString(16)} at byte ${this.received - this.input.length - 4})`);
        return undefined;
      }
      case 'skippable size':
        this.skipLeft = bytes.readUInt32LE(0);
        this.stage = 'skip';
        return undefined;
      case 'flags':
        this.flags = bytes[0]!;
        if ((this.flags & VERSION_MASK) !== VERSION_01) throw new Lz4FormatError(`not an LZ4 frame (version bits ${this.flags >> 6})`);
        if (this.flags & FLAG_RESERVED) throw new Lz4FormatError('not an LZ4 frame (a reserved flag is set)');
        if (this.flags & FLAG_DICTIONARY_ID) throw new Lz4FormatError('LZ4 frame needs a dictionary: unsupported');
        this.stage = 'descriptor';
        return undefined;
      case 'descriptor':
        this.startFrame(bytes);
        return undefined;
      case 'block size': {
        this.blockWord = bytes.readUInt32LE(0);
        const size = this.blockWord & ~UNCOMPRESSED_BLOCK;
        if (this.blockWord === 0) this.endBlocks();
        else if (size > this.header!.maxBlockSize) throw new Lz4FormatError(`LZ4 block of ${size} bytes past the frame's maximum of ${this.header!.maxBlockSize}`);
        else this.stage = 'block';
        return undefined;
      }
      case 'block':
        return this.readBlock(bytes);
      case 'content checksum':
        if (bytes.readUInt32LE(0) !== this.content.digest()) throw new Lz4FormatError('LZ4 frame content checksum differs: the data is damaged');
        this.endFrame();
        return undefined;
      case 'skip':
        return undefined;
    }
  }

  /** The descriptor after FLG: BD, the content size if given, and the header checksum. */
  private startFrame(rest: Buffer): void {
    const descriptor = Buffer.concat([Buffer.of(this.flags), rest.subarray(0, rest.length - 1)]);
    if (((xxhash32(descriptor) >>> 8) & 0xff) !== rest[rest.length - 1]) throw new Lz4FormatError('LZ4 frame header checksum differs: not an LZ4 frame, or damaged');
    const code = (rest[0]! >> 4) & 7;
    const maxBlockSize = MAX_BLOCK_SIZES[code];
    if (maxBlockSize === undefined || rest[0]! & 0x8f) throw new Lz4FormatError(`not an LZ4 frame (block descriptor 0x${rest[0]!.toString(16)})`);
    this.header = {
      maxBlockSize,
      linked: (this.flags & FLAG_INDEPENDENT_BLOCKS) === 0,
      blockChecksum: (this.flags & FLAG_BLOCK_CHECKSUM) !== 0,
      contentChecksum: (this.flags & FLAG_CONTENT_CHECKSUM) !== 0,
      contentSize: this.flags & FLAG_CONTENT_SIZE ? Number(rest.readBigUInt64LE(1)) : undefined,
    };
    this.history = Buffer.alloc(0);
    this.content = new Xxhash32();
    this.frameBytes = 0;
    this.stage = 'block size';
  }

  private readBlock(bytes: Buffer): Buffer {
    const size = this.blockWord & ~UNCOMPRESSED_BLOCK;
    const data = bytes.subarray(0, size);
    if (this.header!.blockChecksum && bytes.readUInt32LE(size) !== xxhash32(data)) throw new Lz4FormatError(`LZ4 block checksum differs at byte ${this.received - this.input.length}: the data is damaged`);
    const block = this.blockWord & UNCOMPRESSED_BLOCK ? data : this.decompress(data);
    this.remember(block);
    if (this.header!.contentChecksum) this.content.update(block);
    this.frameBytes += block.length;
    this.decoded += block.length;
    this.stage = 'block size';
    return block;
  }

  /** Past the end mark: the content size, if the frame gave one, must be what was decoded. */
  private endBlocks(): void {
    const { contentSize, contentChecksum } = this.header!;
    if (contentSize !== undefined && contentSize !== this.frameBytes) throw new Lz4FormatError(`LZ4 frame decodes to ${this.frameBytes} bytes, its header says ${contentSize}`);
    if (contentChecksum) this.stage = 'content checksum';
    else this.endFrame();
  }

  private endFrame(): void {
    this.frames += 1;
    this.header = undefined;
    this.history = Buffer.alloc(0);
    this.stage = 'magic';
  }

  /** Decodes one compressed block after the history it may copy from. */
  private decompress(src: Buffer): Buffer {
    const start = this.history.length;
    const dst = Buffer.allocUnsafe(start + this.header!.maxBlockSize);
    this.history.copy(dst, 0);
    try {
      return dst.subarray(start, decodeBlock(src, dst, start));
    } catch (err) {
      if (err instanceof Lz4BlockError) throw new Lz4FormatError(`LZ4 block of ${src.length} bytes is damaged: ${err.message}`, { cause: err });
      throw err;
    }
  }

  private remember(block: Buffer): void {
    if (!this.header!.linked) return;
    if (block.length >= WINDOW) {
      this.history = Buffer.from(block.subarray(block.length - WINDOW));
      return;
    }
    const joined = Buffer.concat([this.history, block]);
    this.history = joined.length > WINDOW ? Buffer.from(joined.subarray(joined.length - WINDOW)) : joined;
  }
}

/** Bytes of the descriptor after FLG: BD, the optional content size and dictionary id, then its checksum. */
function descriptorRest(flags: number): number {
  return 1 + (flags & FLAG_CONTENT_SIZE ? 8 : 0) + (flags & FLAG_DICTIONARY_ID ? 4 : 0) + 1;
}
