import type { Statement } from 'better-sqlite3';
import type { WriterDb } from './database.js';
import type { EventWriter } from '../ingest/writer/event-writer.js';
import { META, type MetaKey, MetaTable } from './meta.js';

export interface PruneResult {
  likes: number;
  posts: number;
  changes: number;
  /** True when a step hit its batch limit: more is waiting. */
  more: boolean;
}

/** An append-only table, pruned from its oldest rows in id order. */
interface AgedTable {
  select: Statement<[number], { id: number; time_us: number; live: number }>;
  deleteThrough: Statement<[number]>;
  /** Where readers learn how far the prune went (instead of a tombstone per row). */
  watermark: MetaKey | undefined;
}

/**
 * Removes what fell out of the retention window, a small batch per call, so no
 * transaction holds the write lock for long. Ids follow arrival, so the oldest rows
 * come first; a prune stops at the first row still in the window, which keeps
 * "every id at or below the watermark is gone" true.
 */
export class Pruner {
  private readonly meta: MetaTable;
  private readonly likes: AgedTable;
  private readonly changes: AgedTable;
  private readonly interactions: AgedTable;
  private readonly postsFrom;
  private readonly deletePost;
  private readonly likeHighWater;

  constructor(
    private readonly db: WriterDb,
    private readonly writer: EventWriter,
  ) {
    this.meta = new MetaTable(db);
    const aged = (table: string, id: string, live: string, watermark: MetaKey | undefined): AgedTable => ({
      select: db.prepare(`SELECT ${id} AS id, time_us, ${live} AS live FROM ${table} ORDER BY ${id} LIMIT ?`),
      deleteThrough: db.prepare(`DELETE FROM ${table} WHERE ${id} <= ?`),
      watermark,
    });
    this.likes = aged('likes', 'id', 'deleted = 0', META.prunedLikeId);
    this.changes = aged('changes', 'seq', '0', undefined);
    this.interactions = aged('interactions', 'id', '0', undefined);
    this.postsFrom = db.prepare<[number, number], { id: number; first_seen_us: number; like_bound: number }>(
      'SELECT id, first_seen_us, like_bound FROM posts WHERE id > ? ORDER BY id LIMIT ?',
    );
    this.likeHighWater = db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'likes'").pluck();
    this.deletePost = db.prepare<[number]>('DELETE FROM posts WHERE id = ?');
  }

  /** One small step of pruning everything older than `cutoffUs` (IMMEDIATE: see EventWriter). */
  pruneStep(cutoffUs: number, maxRows: number): PruneResult {
    const liveBefore = this.writer.liveLikeCount();
    try {
      return this.step(cutoffUs, maxRows);
    } catch (err) {
      // Rolled back (on a full disk, the COMMIT fails): the likes are still there, so is their count.
      this.writer.restoreLiveLikes(liveBefore);
      throw err;
    }
  }

  private step(cutoffUs: number, maxRows: number): PruneResult {
    return this.db.transaction((): PruneResult => {
      const likes = this.pruneOldest(this.likes, cutoffUs, maxRows);
      this.writer.adjustLiveLikes(-likes.live);
      const changes = this.pruneOldest(this.changes, cutoffUs, maxRows);
      this.pruneOldest(this.interactions, cutoffUs, maxRows);
      const posts = this.prunePosts(cutoffUs, maxRows);
      const more = [likes, changes].some((pruned) => pruned.rows >= maxRows);
      return { likes: likes.rows, changes: changes.rows, posts, more };
    }).immediate();
  }

  private pruneOldest(table: AgedTable, cutoffUs: number, maxRows: number): { rows: number; live: number } {
    const rows = table.select.all(maxRows);
    const firstInWindow = rows.findIndex((row) => row.time_us >= cutoffUs);
    const expired = firstInWindow < 0 ? rows : rows.slice(0, firstInWindow);
    if (expired.length === 0) return { rows: 0, live: 0 };
    const lastId = expired[expired.length - 1]!.id;
    table.deleteThrough.run(lastId);
    if (table.watermark) this.meta.set(table.watermark, lastId);
    return { rows: expired.length, live: expired.reduce((sum, row) => sum + row.live, 0) };
  }

  /**
   * Posts go when they are old and nothing likes them any more. A sweep walks the
   * old posts in id order and wraps around, so a post whose last like is pruned
   * later is found on a later lap.
   *
   * No like of a post has an id above its like_bound (the writer keeps it so, see
   * LikeBounds), nor above the highest like id ever handed out: once the likes are
   * pruned past the lower of the two, none is left. The bound runs up to
   * LIKE_BOUND_SLACK ahead, so a post can outlive its last like by that many likes.
   */
  private prunePosts(cutoffUs: number, maxRows: number): number {
    const prunedLikeId = this.meta.number(META.prunedLikeId) ?? 0;
    const likeHighWater = this.likeHighWater.get() ?? 0;
    const from = this.meta.number(META.postSweepId) ?? 0;
    let next = 0;
    let deleted = 0;
    for (const row of this.postsFrom.all(from, maxRows)) {
      if (row.first_seen_us >= cutoffUs) break; // the rest of the lap is still in the window
      next = row.id;
      // A deleted post's row is its tombstone against replays; rewinds are seconds, so
      // once the post is older than the window the tombstone can go too.
      if (Math.min(row.like_bound, likeHighWater) <= prunedLikeId) {
        this.deletePost.run(row.id);
        deleted++;
      }
    }
    this.meta.set(META.postSweepId, next);
    if (deleted > 0) this.writer.forgetPosts();
    return deleted;
  }
}
