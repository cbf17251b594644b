import type { Statement } from 'better-sqlite3';
import type { WriterDb } from '../../store/database.js';
import type { EventType, IngestEvent } from '../events.js';
import { postUri, splitPostUri } from '../../atproto/identifiers.js';
import { BoundedCache } from '../../util/bounded-cache.js';
import { META, MetaTable, type PrimarySignalKey, type StoredCursor } from '../../store/meta.js';
import { DEFAULT_INTERACTIONS_PER_USER } from '../../config/config.js';
import { CHANGE_KIND, type InteractionEvent, interactionCode, LIKE_BOUND_SLACK, POST_FLAGS } from '../../store/schema.js';
import { type StoredRecordKey, toStoredRecordKey } from '../../store/record-key.js';
import { LikeBounds, type PostRef } from './like-bounds.js';

export type WriteOutcome = 'stored' | 'duplicate' | 'ignored';

export type OutcomeCounts = Record<EventType, Record<WriteOutcome, number>>;

/** One interaction a user sent back (sendInteractions), checked by the HTTP layer. */
export interface Interaction {
  event: InteractionEvent;
  /** A checked post URI, when the item is a post. */
  postUri: string | undefined;
  reqId: string | undefined;
  feedContext: string | undefined;
}

export interface EventWriterOptions {
  /** Entries per cache generation (two generations are kept). */
  actorCacheSize?: number;
  postCacheSize?: number;
  /** How far ahead of a like its post's like_bound is set (tests use a small one). */
  likeBoundSlack?: number;
  /** Interactions kept per user, newest first (INTERACTIONS_PER_USER); older ones are deleted as new ones come. */
  interactionsPerUser?: number;
}

/**
 * Every write transaction is BEGIN IMMEDIATE: it reads before it writes, and under
 * Litestream (which writes too, at checkpoints) a deferred one would fail with
 * SQLITE_BUSY on upgrading a stale read snapshot, without waiting for busy_timeout.
 *
 * Applies batches of ingest events in single transactions, each committing the
 * stream cursor with the rows it covers. Every write is idempotent: a replayed
 * event (at-least-once delivery, rewinds) is a duplicate, never a second row.
 */
export class EventWriter {
  private readonly meta: MetaTable;
  private readonly actorIds: BoundedCache<string, number>;
  private readonly posts: BoundedCache<string, PostRef>;
  private readonly likeBounds: LikeBounds;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private liveLikes: number;
  private readonly interactionsPerUser: number;

  constructor(
    private readonly db: WriterDb,
    options: EventWriterOptions = {},
  ) {
    this.meta = new MetaTable(db);
    this.actorIds = new BoundedCache(options.actorCacheSize ?? 200_000);
    this.posts = new BoundedCache(options.postCacheSize ?? 200_000);
    this.stmt = prepareStatements(db);
    this.likeBounds = new LikeBounds(db, options.likeBoundSlack ?? LIKE_BOUND_SLACK);
    this.liveLikes = this.meta.number(META.liveLikes) ?? 0;
    this.interactionsPerUser = options.interactionsPerUser ?? DEFAULT_INTERACTIONS_PER_USER;
  }

  cursor(): StoredCursor {
    return this.meta.cursor();
  }

  /** Likes neither deleted nor pruned. */
  liveLikeCount(): number {
    return this.liveLikes;
  }

  /** Writes the events and the cursor that covers them, all or nothing. */
  writeBatch(events: readonly IngestEvent[], cursor: StoredCursor): OutcomeCounts {
    const counts = emptyCounts();
    const liveBefore = this.liveLikes;
    try {
      this.db.transaction(() => {
        for (const event of events) counts[event.type][this.apply(event)]++;
        this.meta.set(META.liveLikes, this.liveLikes);
        this.meta.setCursor(cursor);
      }).immediate();
    } catch (err) {
      // The transaction rolled back: ids cached during it may name rows that no longer exist.
      this.actorIds.clear();
      this.posts.clear();
      this.likeBounds.reload();
      this.liveLikes = liveBefore;
      throw new Error('write batch', { cause: err });
    }
    return counts;
  }

  /** Stores a user's interactions in one transaction; returns how many were stored. */
  writeInteractions(actorDid: string, interactions: readonly Interaction[], timeUs: number): number {
    try {
      return this.db.transaction(() => {
        const actorId = this.actorId(actorDid);
        for (const i of interactions) {
          const postId = i.postUri === undefined ? null : this.post(i.postUri, timeUs).id;
          this.stmt.insertInteraction.run(actorId, postId, interactionCode(i.event), i.reqId ?? null, i.feedContext ?? null, timeUs);
        }
        // A per-user bound: one user's calls cannot grow the table for the whole window. A
        // call's interactions share one time, so a call at the bound keeps all of its own.
        const oldestKept = this.stmt.interactionTimeAt.get(actorId, this.interactionsPerUser - 1)?.time_us;
        if (oldestKept !== undefined) this.stmt.deleteInteractionsBefore.run(actorId, oldestKept);
        return interactions.length;
      }).immediate();
    } catch (err) {
      this.actorIds.clear();
      this.posts.clear();
      this.likeBounds.reload();
      throw new Error('write interactions', { cause: err });
    }
  }

  /** What replicas read of the primary's state in their copy (its feed, its ingest). */
  writeSignal(key: PrimarySignalKey, value: string | undefined): void {
    this.meta.set(key, value);
  }

  /** The primary's liveness row: replicas measure their lag from it. */
  writeHeartbeat(nowMs: number): void {
    this.stmt.heartbeat.run(nowMs);
  }

  /** The pruner deleted post rows: cached ids may name them. */
  forgetPosts(): void {
    this.posts.clear();
  }

  /** Called by the pruner, which removes likes in its own transactions. */
  adjustLiveLikes(delta: number): void {
    this.liveLikes += delta;
    this.meta.set(META.liveLikes, this.liveLikes);
  }

  /** The pruner's transaction rolled back after adjusting: the count goes back with the rows. */
  restoreLiveLikes(count: number): void {
    this.liveLikes = count;
  }

  private apply(event: IngestEvent): WriteOutcome {
    switch (event.type) {
      case 'like':
        return this.insertLike(event.did, event.rkey, event.subjectUri, event.timeUs);
      case 'like-delete':
        return this.deleteLike(event.did, toStoredRecordKey(event.rkey), event.timeUs);
      case 'post':
        return this.upsertPost(event.did, event.rkey, event.createdAtUs, event.isReply, event.timeUs);
      case 'post-delete':
        return this.deletePost(event.did, event.rkey, event.timeUs);
      case 'account':
        return this.setAccountStatus(event.did, event.active, event.status, event.accountSeq, event.timeUs);
    }
  }

  private insertLike(did: string, rkey: string, subjectUri: string, timeUs: number): WriteOutcome {
    const actorId = this.actorId(did);
    const post = this.post(subjectUri, timeUs);
    const inserted = this.stmt.insertLike.run(actorId, toStoredRecordKey(rkey), post.id, timeUs);
    if (inserted.changes === 0) return 'duplicate';
    this.likeBounds.stored(post, Number(inserted.lastInsertRowid));
    this.liveLikes++;
    return 'stored';
  }

  private deleteLike(did: string, rkey: StoredRecordKey, timeUs: number): WriteOutcome {
    const actorId = this.knownActorId(did);
    if (actorId === undefined) return 'ignored';
    const row = this.stmt.deleteLike.get(rkey, actorId);
    // Unknown like (older than our window) or already deleted (a replay).
    if (row === undefined) return 'ignored';
    this.stmt.insertChange.run(CHANGE_KIND.likeDeleted, row.id, timeUs);
    this.liveLikes--;
    return 'stored';
  }

  private upsertPost(did: string, rkey: string, createdAtUs: number | undefined, isReply: boolean, timeUs: number): WriteOutcome {
    const authorId = this.actorId(did);
    const flags = POST_FLAGS.seen | (isReply ? POST_FLAGS.reply : 0);
    const row = this.stmt.upsertPost.get(authorId, rkey, timeUs, createdAtUs ?? null, flags, this.likeBounds.initial());
    if (row === undefined) return 'duplicate';
    this.posts.set(postUri(did, rkey), postRef(row));
    return 'stored';
  }

  private deletePost(did: string, rkey: string, timeUs: number): WriteOutcome {
    const authorId = this.actorId(did);
    // The row is kept (flagged) so a replayed create or a late like cannot revive the post.
    const row = this.stmt.markPostDeleted.get(authorId, rkey, timeUs, POST_FLAGS.deleted, this.likeBounds.initial());
    if (row === undefined) return 'duplicate';
    this.posts.set(postUri(did, rkey), postRef(row));
    this.stmt.insertChange.run(CHANGE_KIND.postDeleted, row.id, timeUs);
    return 'stored';
  }

  private setAccountStatus(did: string, active: boolean, status: string | undefined, accountSeq: number, timeUs: number): WriteOutcome {
    const actorId = this.actorId(did);
    if (this.stmt.setAccountStatus.run(active ? 1 : 0, status ?? null, accountSeq, actorId, accountSeq).changes === 0) {
      return 'duplicate';
    }
    this.stmt.insertChange.run(CHANGE_KIND.actorStatus, actorId, timeUs);
    return 'stored';
  }

  private actorId(did: string): number {
    const cached = this.actorIds.get(did);
    if (cached !== undefined) return cached;
    const id = this.stmt.selectActor.get(did)?.id ?? Number(this.stmt.insertActor.run(did).lastInsertRowid);
    this.actorIds.set(did, id);
    return id;
  }

  private knownActorId(did: string): number | undefined {
    const cached = this.actorIds.get(did);
    if (cached !== undefined) return cached;
    return this.stmt.selectActor.get(did)?.id;
  }

  /** Posts are cached by their URI, as likes name them: a hit costs one lookup. */
  private post(uri: string, timeUs: number): PostRef {
    const cached = this.posts.get(uri);
    if (cached !== undefined) return cached;
    const { authorDid, rkey } = splitPostUri(uri);
    const authorId = this.actorId(authorDid);
    const found = this.stmt.selectPost.get(authorId, rkey);
    let post: PostRef;
    if (found !== undefined) post = postRef(found);
    else {
      const likeBound = this.likeBounds.initial();
      post = { id: Number(this.stmt.insertPost.run(authorId, rkey, timeUs, likeBound).lastInsertRowid), likeBound };
    }
    this.posts.set(uri, post);
    return post;
  }
}

function emptyCounts(): OutcomeCounts {
  const types: EventType[] = ['like', 'like-delete', 'post', 'post-delete', 'account'];
  return Object.fromEntries(types.map((t) => [t, { stored: 0, duplicate: 0, ignored: 0 }])) as OutcomeCounts;
}

type IdRow = { id: number };
type PostRow = { id: number; like_bound: number };

function postRef(row: PostRow): PostRef {
  return { id: row.id, likeBound: row.like_bound };
}

function prepareStatements(db: WriterDb) {
  const prepare = <P extends unknown[], R = unknown>(sql: string): Statement<P, R> => db.prepare<P, R>(sql);
  return {
    selectActor: prepare<[string], IdRow>('SELECT id FROM actors WHERE did = ?'),
    insertActor: prepare<[string]>('INSERT INTO actors (did) VALUES (?)'),
    selectPost: prepare<[number, string], PostRow>('SELECT id, like_bound FROM posts WHERE author_id = ? AND rkey = ?'),
    insertPost: prepare<[number, string, number, number]>(
      'INSERT INTO posts (author_id, rkey, first_seen_us, like_bound) VALUES (?, ?, ?, ?)',
    ),
    // A row that is there already keeps its like_bound: it covers likes stored before.
    upsertPost: prepare<[number, string, number, number | null, number, number], PostRow>(
      `INSERT INTO posts (author_id, rkey, first_seen_us, created_us, flags, like_bound) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (rkey, author_id) DO UPDATE SET created_us = excluded.created_us, flags = flags | excluded.flags
       WHERE flags & ${POST_FLAGS.seen} = 0
       RETURNING id, like_bound`,
    ),
    markPostDeleted: prepare<[number, string, number, number, number], PostRow>(
      `INSERT INTO posts (author_id, rkey, first_seen_us, flags, like_bound) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (rkey, author_id) DO UPDATE SET flags = flags | excluded.flags
       WHERE flags & ${POST_FLAGS.deleted} = 0
       RETURNING id, like_bound`,
    ),
    insertLike: prepare<[number, StoredRecordKey, number, number]>(
      'INSERT INTO likes (actor_id, rkey, post_id, time_us) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    // (rkey, actor_id): the order of the unique index, which finds the row
    deleteLike: prepare<[StoredRecordKey, number], IdRow>(
      'UPDATE likes SET deleted = 1 WHERE rkey = ? AND actor_id = ? AND deleted = 0 RETURNING id',
    ),
    setAccountStatus: prepare<[number, string | null, number, number, number]>(
      'UPDATE actors SET active = ?, status = ?, status_seq = ? WHERE id = ? AND (status_seq IS NULL OR status_seq < ?)',
    ),
    insertInteraction: prepare<[number, number | null, number, string | null, string | null, number]>(
      'INSERT INTO interactions (actor_id, post_id, event, req_id, feed_context, time_us) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertChange: prepare<[number, number, number]>('INSERT INTO changes (kind, ref_id, time_us) VALUES (?, ?, ?)'),
    // Both on interactions_by_actor_time: the user's (n+1)-th newest time, then what is older.
    interactionTimeAt: prepare<[number, number], { time_us: number }>(
      'SELECT time_us FROM interactions WHERE actor_id = ? ORDER BY time_us DESC LIMIT 1 OFFSET ?',
    ),
    deleteInteractionsBefore: prepare<[number, number]>('DELETE FROM interactions WHERE actor_id = ? AND time_us < ?'),
    heartbeat: prepare<[number]>(
      'INSERT INTO heartbeat (id, time_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET time_ms = excluded.time_ms',
    ),
  };
}
