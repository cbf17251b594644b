import { Readable } from 'node:stream';

/** What the follower reads of Litestream's replica: objects by key, and listings. */
export interface ObjectStore {
  /** The object's bytes, or undefined when there is no such key. */
  get(key: string): Promise<Buffer | undefined>;
  /**
   * The object's bytes as a stream, for objects too large to hold (a snapshot), or
   * undefined when there is no such key. A failure while reading is an ObjectStoreError
   * from the stream; destroying the stream ends the request.
   */
  getStream(key: string): Promise<Readable | undefined>;
  /**
   * Keys (with their times and sizes) and common prefixes directly under `prefix`, split
   * at `/`, each in key order. A prefix holding nothing lists empty.
   */
  list(prefix: string): Promise<Listing>;
  /** Requests made so far by billing class (GET is class B, LIST class A), failed ones included. */
  readonly requests: { GET: number; LIST: number };
}

export interface Listing {
  objects: { key: string; lastModifiedMs: number; size: number }[];
  prefixes: string[];
}

/** Every failure of a store (unreachable, refused, an error answer) is one of these, the cause attached. */
export class ObjectStoreError extends Error {
  override name = 'ObjectStoreError';
}

/** Runs one request, turning whatever it throws into an ObjectStoreError saying what was asked. */
export async function storeRequest<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (err instanceof ObjectStoreError) throw err;
    throw new ObjectStoreError(what, { cause: err });
  }
}

/**
 * `source` as a stream whose errors are ObjectStoreErrors saying what was read.
 * `onChunk` runs per chunk (an idle deadline), `onClose` once the stream is done in any
 * way, which also ends the source.
 */
export function storeStream(what: string, source: Readable, hooks: { onChunk?: () => void; onClose?: () => void } = {}): Readable {
  async function* read(): AsyncGenerator<Buffer> {
    let bytes = 0;
    try {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        hooks.onChunk?.();
        bytes += chunk.byteLength;
        yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    } catch (err) {
      throw new ObjectStoreError(`${what}: failed after ${bytes} bytes`, { cause: err });
    }
  }
  // A few chunks ahead at most: the reader's pace sets the download's.
  const stream = Readable.from(read(), { highWaterMark: 4 });
  stream.once('close', () => {
    source.destroy();
    hooks.onClose?.();
  });
  return stream;
}
