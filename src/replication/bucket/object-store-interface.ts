/** What the follower reads of Litestream's replica: objects by key, and listings. */
export interface ObjectStore {
  /** The object's bytes, or undefined when there is no such key. */
  get(key: string): Promise<Buffer | undefined>;
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
