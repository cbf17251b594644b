/**
 * The like graph saved to a file (`<database>.graph`), so a start reads it instead of
 * the whole likes table. This file knows the format only: a tree of numbers and typed
 * arrays (the graph's state, like-graph.ts) and a JSON `meta` the caller checks against
 * its database (graph-sync.ts, snapshot-check.ts).
 *
 * Layout, little-endian:
 *
 *   0   8 bytes   magic "LIKEGRPH"
 *   8   uint32    format version (SNAPSHOT_VERSION)
 *   12  uint32    n, the header's bytes
 *   16  n bytes   header, JSON: { meta, shape, arrays: [[type, length], ...] }; `shape`
 *                 is the tree with each typed array replaced by { "$array": its index }
 *   ..  the arrays' bytes, in order, unpadded (each is read into an array of its own)
 *   end uint32    crc32 of every byte before it
 *
 * Written to a temporary file in pieces of PIECE_BYTES (each write awaited, so the event
 * loop runs between them), fsynced, then renamed over the old file. Read back the same
 * way, straight into newly allocated arrays: no second copy of the graph.
 */
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { endianness } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';

/** 2: post ids held whole (float64, in the post map) and posts named by row in slots and lists, so ids can pass 2^31. */
export const SNAPSHOT_VERSION = 2;
const MAGIC = Buffer.from('LIKEGRPH', 'latin1');
const PREAMBLE_BYTES = 16;
const TRAILER_BYTES = 4;
/** Bytes per write or read: the event loop runs between two. */
const PIECE_BYTES = 8 << 20;

const ARRAY_TYPES = {
  f64: Float64Array,
  i32: Int32Array,
  u32: Uint32Array,
  u16: Uint16Array,
  u8: Uint8Array,
} as const;
type ArrayType = keyof typeof ARRAY_TYPES;
type SavedArray = InstanceType<(typeof ARRAY_TYPES)[ArrayType]>;

/** Why a snapshot file cannot be used; the caller loads from the database instead. */
export type SnapshotProblem = 'missing' | 'unreadable' | 'truncated' | 'version' | 'checksum';

export class SnapshotUnusable extends Error {
  constructor(
    readonly problem: SnapshotProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

interface Header {
  meta: unknown;
  shape: unknown;
  arrays: Array<[ArrayType, number]>;
}

export interface SnapshotWritten {
  bytes: number;
  seconds: number;
}

export interface WriteOptions {
  /** Called once the last byte of the tree is handed to the file: from then on the tree may change. */
  onTreeWritten?: () => void;
  /** Checked between pieces: true abandons the write (the temporary file is removed). */
  cancelled?: () => boolean;
}

/** Writes `meta` and `tree` to `file`, atomically: a reader sees the old file or the whole new one. */
export async function writeSnapshot(file: string, meta: unknown, tree: unknown, options: WriteOptions = {}): Promise<SnapshotWritten> {
  if (endianness() !== 'LE') throw new Error('graph snapshot: a big-endian machine is not supported');
  const started = performance.now();
  const arrays: SavedArray[] = [];
  const header: Header = { meta, shape: flatten(tree, arrays), arrays: arrays.map((a) => [typeOf(a), a.length]) };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(SNAPSHOT_VERSION, 8);
  preamble.writeUInt32LE(headerBytes.length, 12);

  // One name: a write cut short by a crash is overwritten by the next, not left beside it.
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w', 0o644);
  let position = 0;
  let crc = 0;
  let released = false;
  const release = () => {
    if (!released) options.onTreeWritten?.();
    released = true;
  };
  const put = async (bytes: Uint8Array) => {
    crc = crc32(bytes, crc);
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position);
      done += bytesWritten;
      position += bytesWritten;
    }
  };
  try {
    await put(preamble);
    await put(headerBytes);
    for (const array of arrays) {
      for (let offset = 0; offset < array.byteLength; offset += PIECE_BYTES) {
        if (options.cancelled?.()) throw new Error('cancelled');
        await put(new Uint8Array(array.buffer, array.byteOffset + offset, Math.min(PIECE_BYTES, array.byteLength - offset)));
      }
    }
    release();
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(crc >>> 0);
    await put(trailer);
    await handle.sync();
    await handle.close();
    await rename(temporary, file);
    await syncFolder(path.dirname(file));
  } catch (cause) {
    release();
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw new Error(`write graph snapshot ${file}`, { cause });
  }
  return { bytes: position, seconds: (performance.now() - started) / 1000 };
}

/** A snapshot file opened: its meta is read, the tree (the bulk) only on `readTree`. */
export class SnapshotReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly file: string,
    readonly meta: unknown,
    readonly bytes: number,
    private readonly header: Header,
    private readonly headerBytes: Buffer,
    private readonly preamble: Buffer,
  ) {}

  /** Opens `file` and reads its header; throws SnapshotUnusable (the file closed) when it cannot be used. */
  static async open(file: string): Promise<SnapshotReader> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (cause) {
      const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
      throw new SnapshotUnusable(missing ? 'missing' : 'unreadable', `open graph snapshot ${file}`, { cause });
    }
    try {
      const { size } = await handle.stat();
      const preamble = await readExactly(handle, 0, PREAMBLE_BYTES, size);
      if (!preamble.subarray(0, MAGIC.length).equals(MAGIC)) throw new SnapshotUnusable('unreadable', `${file} is not a like graph snapshot`);
      const version = preamble.readUInt32LE(8);
      if (version !== SNAPSHOT_VERSION) throw new SnapshotUnusable('version', `${file} is format ${version}, not ${SNAPSHOT_VERSION}`);
      const headerBytes = await readExactly(handle, PREAMBLE_BYTES, preamble.readUInt32LE(12), size);
      const header = parseHeader(headerBytes, file);
      let expected = PREAMBLE_BYTES + headerBytes.length + TRAILER_BYTES;
      for (const [type, length] of header.arrays) expected += length * ARRAY_TYPES[type].BYTES_PER_ELEMENT;
      if (size < expected) throw new SnapshotUnusable('truncated', `${file} has ${size} bytes of ${expected}`);
      if (size > expected) throw new SnapshotUnusable('unreadable', `${file} has ${size} bytes, ${size - expected} more than its header says`);
      return new SnapshotReader(handle, file, header.meta, size, header, headerBytes, preamble);
    } catch (err) {
      await handle.close();
      throw err instanceof SnapshotUnusable ? err : new SnapshotUnusable('unreadable', `read graph snapshot ${file}`, { cause: err });
    }
  }

  /** Reads the arrays and checks the checksum; throws SnapshotUnusable. */
  async readTree(): Promise<unknown> {
    const { handle, file } = this;
    try {
      let crc = crc32(this.headerBytes, crc32(this.preamble));
      let position = PREAMBLE_BYTES + this.headerBytes.length;
      const arrays: SavedArray[] = [];
      for (const [type, length] of this.header.arrays) {
        const array = new ARRAY_TYPES[type](length);
        const bytes = new Uint8Array(array.buffer);
        for (let offset = 0; offset < bytes.length; offset += PIECE_BYTES) {
          const piece = bytes.subarray(offset, Math.min(bytes.length, offset + PIECE_BYTES));
          await readInto(handle, piece, position, file);
          crc = crc32(piece, crc);
          position += piece.length;
        }
        arrays.push(array);
      }
      const trailer = await readExactly(handle, position, TRAILER_BYTES, this.bytes);
      if (trailer.readUInt32LE(0) !== crc >>> 0) throw new SnapshotUnusable('checksum', `${file}: checksum mismatch`);
      return revive(this.header.shape, arrays);
    } catch (err) {
      throw err instanceof SnapshotUnusable ? err : new SnapshotUnusable('unreadable', `read graph snapshot ${file}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** The tree as JSON, each typed array replaced by its index in `arrays`. */
function flatten(value: unknown, arrays: SavedArray[]): unknown {
  if (ArrayBuffer.isView(value)) {
    typeOf(value as SavedArray);
    arrays.push(value as SavedArray);
    return { $array: arrays.length - 1 };
  }
  if (Array.isArray(value)) return value.map((item) => flatten(item, arrays));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, flatten(item, arrays)]));
  }
  return value;
}

function revive(shape: unknown, arrays: SavedArray[]): unknown {
  if (Array.isArray(shape)) return shape.map((item) => revive(item, arrays));
  if (shape !== null && typeof shape === 'object') {
    const index = (shape as { $array?: unknown }).$array;
    if (index !== undefined) {
      if (typeof index !== 'number' || !arrays[index]) throw new Error(`no array ${String(index)}`);
      return arrays[index];
    }
    return Object.fromEntries(Object.entries(shape).map(([key, item]) => [key, revive(item, arrays)]));
  }
  return shape;
}

function typeOf(array: SavedArray): ArrayType {
  for (const [type, constructor] of Object.entries(ARRAY_TYPES)) if (array.constructor === constructor) return type as ArrayType;
  throw new Error(`graph snapshot: cannot save a ${array.constructor.name}`);
}

function parseHeader(bytes: Buffer, file: string): Header {
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8')) as Header;
  } catch (cause) {
    throw new SnapshotUnusable('unreadable', `${file}: header is not JSON`, { cause });
  }
  const valid =
    header !== null &&
    typeof header === 'object' &&
    Array.isArray(header.arrays) &&
    header.arrays.every(([type, length]) => Object.hasOwn(ARRAY_TYPES, type) && Number.isInteger(length) && length >= 0);
  if (!valid) throw new SnapshotUnusable('unreadable', `${file}: header does not describe a snapshot`);
  return header;
}

async function readExactly(handle: FileHandle, position: number, length: number, size: number): Promise<Buffer> {
  if (position + length > size) throw new SnapshotUnusable('truncated', `graph snapshot ends at ${size}, before ${position + length}`);
  const buffer = Buffer.alloc(length);
  await readInto(handle, buffer, position, 'graph snapshot');
  return buffer;
}

async function readInto(handle: FileHandle, target: Uint8Array, position: number, file: string): Promise<void> {
  for (let done = 0; done < target.length; ) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new SnapshotUnusable('truncated', `${file} ends at ${position + done}`);
    done += bytesRead;
  }
}

/** Makes a rename in `folder` durable (where the platform allows opening a folder). */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}
