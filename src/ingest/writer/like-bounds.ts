import type { Statement } from 'better-sqlite3';
import type { WriterDb } from '../../store/database.js';

/** A post row as the writer caches it: its id and the `like_bound` stored with it. */
export interface PostRef {
  id: number;
  likeBound: number;
}

/**
 * Keeps every post's `like_bound` at or above the id of each of its likes, which is what
 * lets the pruner free an old post without an index of likes by post (see schema.ts).
 * A bound is set `slack` likes ahead, so a post is written again only once that many
 * likes have come in since: a new post row starts ahead of the next like id, and its
 * first likes cost nothing more than the like row.
 */
export class LikeBounds {
  private readonly raise: Statement<[number, number]>;
  private readonly readHighWater: Statement<[], { seq: number }>;
  /** The highest like id handed out so far (AUTOINCREMENT never hands it out again). */
  private highWater = 0;

  constructor(
    db: WriterDb,
    private readonly slack: number,
  ) {
    this.raise = db.prepare('UPDATE posts SET like_bound = max(like_bound, ?) WHERE id = ?');
    this.readHighWater = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'likes'");
    this.reload();
  }

  /** The bound a new post row starts with. */
  initial(): number {
    return this.highWater + this.slack;
  }

  /** Like `likeId` of `post` was stored: the post's bound (row and cached ref) covers it. */
  stored(post: PostRef, likeId: number): void {
    this.highWater = Math.max(this.highWater, likeId);
    if (likeId <= post.likeBound) return;
    post.likeBound = likeId + this.slack;
    this.raise.run(post.likeBound, post.id);
  }

  /** After a rollback: the ids handed out in it are free again. */
  reload(): void {
    this.highWater = this.readHighWater.get()?.seq ?? 0;
  }
}
