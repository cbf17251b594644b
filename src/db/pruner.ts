import type { Database } from 'better-sqlite3';
import type { EventWriter } from './event-writer.js';
import { META, MetaTable } from './meta.js';

export interface PruneResult {
  likes: number;
  reposts: number;
  posts: number;
  changes: number;
  /** True when a step hit its batch limit: more is waiting. */
  more: boolean;
}

/**
 * Removes what fell out of the retention window, a small batch per call, so no
 * transaction holds the write lock for long. Likes and reposts go in id order
 * (ids follow arrival, so the oldest come first), which lets readers learn of a
 * prune from one watermark instead of a tombstone per row.
 */
export class Pruner {
  private readonly meta: MetaTable;
  private readonly stmt;

  constructor(
    private readonly db: Database,
    private readonly writer: EventWriter,
  ) {
    this.meta = new MetaTable(db);
    this.stmt = {
      // The first `limit` rows from the oldest; the prune stops at the first one still in the window.
      oldestLikes: db.prepare<[number], { id: number; time_us: number; deleted: number }>(
        'SELECT id, time_us, deleted FROM likes ORDER BY id LIMIT ?',
      ),
      deleteLikesThrough: db.prepare<[number]>('DELETE FROM likes WHERE id <= ?'),
      oldestReposts: db.prepare<[number], { id: number; time_us: number }>('SELECT id, time_us FROM reposts ORDER BY id LIMIT ?'),
      deleteRepostsThrough: db.prepare<[number]>('DELETE FROM reposts WHERE id <= ?'),
      oldestChanges: db.prepare<[number], { seq: number; time_us: number }>('SELECT seq, time_us FROM changes ORDER BY seq LIMIT ?'),
      deleteChangesThrough: db.prepare<[number]>('DELETE FROM changes WHERE seq <= ?'),
      postsFrom: db.prepare<[number, number], { id: number; first_seen_us: number; liked: number }>(
        `SELECT p.id, p.first_seen_us, EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id) AS liked
         FROM posts p WHERE p.id > ? ORDER BY p.id LIMIT ?`,
      ),
      deletePost: db.prepare<[number]>('DELETE FROM posts WHERE id = ?'),
    };
  }

  /** One small step of pruning everything older than `cutoffUs`. */
  pruneStep(cutoffUs: number, maxRows: number): PruneResult {
    return this.db.transaction((): PruneResult => {
      const likes = this.pruneLikes(cutoffUs, maxRows);
      const reposts = this.pruneById(this.stmt.oldestReposts, this.stmt.deleteRepostsThrough, META.prunedRepostId, cutoffUs, maxRows);
      const changes = this.pruneChanges(cutoffUs, maxRows);
      const posts = this.prunePosts(cutoffUs, maxRows);
      const more = [likes, reposts, changes].some((n) => n >= maxRows);
      return { likes, reposts, posts, changes, more };
    })();
  }

  private pruneLikes(cutoffUs: number, maxRows: number): number {
    const rows = this.stmt.oldestLikes.all(maxRows);
    const expired = leadingExpired(rows, cutoffUs);
    if (expired.length === 0) return 0;
    const lastId = expired[expired.length - 1]!.id;
    this.stmt.deleteLikesThrough.run(lastId);
    this.meta.set(META.prunedLikeId, lastId);
    this.writer.adjustLiveLikes(-expired.filter((row) => row.deleted === 0).length);
    return expired.length;
  }

  private pruneById(
    select: { all(limit: number): Array<{ id: number; time_us: number }> },
    deleteThrough: { run(id: number): unknown },
    watermark: typeof META.prunedRepostId,
    cutoffUs: number,
    maxRows: number,
  ): number {
    const expired = leadingExpired(select.all(maxRows), cutoffUs);
    if (expired.length === 0) return 0;
    const lastId = expired[expired.length - 1]!.id;
    deleteThrough.run(lastId);
    this.meta.set(watermark, lastId);
    return expired.length;
  }

  private pruneChanges(cutoffUs: number, maxRows: number): number {
    const expired = leadingExpired(this.stmt.oldestChanges.all(maxRows), cutoffUs);
    if (expired.length === 0) return 0;
    this.stmt.deleteChangesThrough.run(expired[expired.length - 1]!.seq);
    return expired.length;
  }

  /**
   * Posts go when they are old and nothing likes them any more. A sweep walks the
   * old posts in id order and wraps around, so a post whose last like is pruned
   * later is found on a later lap.
   */
  private prunePosts(cutoffUs: number, maxRows: number): number {
    const from = this.meta.number(META.postSweepId) ?? 0;
    const rows = this.stmt.postsFrom.all(from, maxRows);
    let next = 0;
    let deleted = 0;
    for (const row of rows) {
      if (row.first_seen_us >= cutoffUs) break; // the rest of the lap is still in the window
      next = row.id;
      // A deleted post's row is its tombstone against replays; rewinds are seconds, so
      // once the post is older than the window the tombstone can go too.
      if (row.liked === 0) {
        this.stmt.deletePost.run(row.id);
        deleted++;
      }
    }
    this.meta.set(META.postSweepId, next);
    return deleted;
  }
}

/** The rows at the head of an id-ordered list that are older than the cutoff. */
function leadingExpired<T extends { time_us: number }>(rows: T[], cutoffUs: number): T[] {
  const firstLive = rows.findIndex((row) => row.time_us >= cutoffUs);
  return firstLive < 0 ? rows : rows.slice(0, firstLive);
}
