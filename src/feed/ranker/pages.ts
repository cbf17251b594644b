import { randomBytes } from 'node:crypto';

/** A cursor is `<reqId>:<offset>` into the ranked list kept for that request. */
const CURSOR_PATTERN = /^([A-Za-z0-9_-]{8,64}):(\d{1,6})$/;

export class InvalidCursorError extends Error {
  constructor(cursor: string) {
    super(`malformed cursor ${JSON.stringify(cursor.slice(0, 80))}: expected "<reqId>:<offset>" from a previous page`);
    this.name = 'InvalidCursorError';
  }
}

export interface RankedList {
  /** Post ids (float64: they pass 2^31). */
  posts: Float64Array;
  /** Which ranking made it: a preset name, or "popular". */
  source: string;
  createdAtMs: number;
}

/**
 * The ranked list of each request, kept for a few minutes under a `reqId` so the
 * next pages come from the same list: pages never repeat or skip a post.
 * Bounded by count and age (oldest dropped first).
 */
export class PageCache {
  private readonly lists = new Map<string, RankedList>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxLists: number,
    private readonly now: () => number = Date.now,
  ) {}

  put(posts: Float64Array, source: string): string {
    const reqId = randomBytes(12).toString('base64url');
    this.lists.set(reqId, { posts, source, createdAtMs: this.now() });
    this.evict();
    return reqId;
  }

  get(reqId: string): RankedList | undefined {
    const list = this.lists.get(reqId);
    if (list && this.now() - list.createdAtMs > this.ttlMs) {
      this.lists.delete(reqId);
      return undefined;
    }
    return list;
  }

  get size(): number {
    return this.lists.size;
  }

  private evict(): void {
    // Maps iterate in insertion order: the first entries are the oldest.
    for (const [reqId, list] of this.lists) {
      if (this.lists.size <= this.maxLists && this.now() - list.createdAtMs <= this.ttlMs) break;
      this.lists.delete(reqId);
    }
  }
}

export function encodeCursor(reqId: string, offset: number): string {
  return `${reqId}:${offset}`;
}

export function decodeCursor(cursor: string): { reqId: string; offset: number } {
  const match = CURSOR_PATTERN.exec(cursor);
  if (!match) throw new InvalidCursorError(cursor);
  return { reqId: match[1]!, offset: Number(match[2]) };
}
