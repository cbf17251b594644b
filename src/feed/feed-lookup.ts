import type { Statement } from 'better-sqlite3';
import type { ReaderDb } from '../store/database.js';
import { postUri } from '../atproto/identifiers.js';
import type { FeedLookup } from './ranker/feed-ranker.js';
import type { UserSignals } from './ranker/pipeline.js';
import { interactionCode } from '../store/schema.js';

/** Interactions older than this no longer steer the ranking. */
const SIGNAL_WINDOW_US = 7 * 86_400_000_000;
/** The newest interactions read per request, at most. */
const SIGNAL_ROWS = 2000;
const SEEN = interactionCode('app.bsky.feed.defs#interactionSeen');
const LESS = interactionCode('app.bsky.feed.defs#requestLess');
const MORE = interactionCode('app.bsky.feed.defs#requestMore');

/** Names to ids and back, through indexed lookups on a read-only connection. */
export class SqliteFeedLookup implements FeedLookup {
  private actorByDid!: Statement<[string], { id: number }>;
  private didById!: Statement<[number], { did: string }>;
  private postById!: Statement<[number], { did: string; rkey: string }>;
  private interactionsOf!: Statement<[number, number, number], { post_id: number; event: number; author_id: number }>;
  private lessOf!: Statement<[number, number, number], { author_id: number; time_us: number }>;

  constructor(
    db: ReaderDb,
    /** Wall-clock ms: the window of the user's own signals ends now. */
    private readonly nowMs: () => number = Date.now,
  ) {
    this.attach(db);
  }

  /** Prepares every statement on `db`: at start, and on a replica after each reopen. */
  attach(db: ReaderDb): void {
    this.actorByDid = db.prepare('SELECT id FROM actors WHERE did = ?');
    this.didById = db.prepare('SELECT did FROM actors WHERE id = ?');
    this.postById = db.prepare('SELECT a.did, p.rkey FROM posts p JOIN actors a ON a.id = p.author_id WHERE p.id = ?');
    this.interactionsOf = db.prepare(
      `SELECT i.post_id, i.event, p.author_id FROM interactions i JOIN posts p ON p.id = i.post_id
       WHERE i.actor_id = ? AND i.time_us > ? AND i.event IN (${SEEN}, ${LESS}, ${MORE})
       ORDER BY i.time_us DESC LIMIT ?`,
    );
    this.lessOf = db.prepare(
      `SELECT p.author_id, i.time_us FROM interactions i JOIN posts p ON p.id = i.post_id
       WHERE i.actor_id = ? AND i.time_us > ? AND i.event = ${LESS} ORDER BY i.time_us DESC LIMIT ?`,
    );
  }

  /** The authors the user asked to see less of after `sinceMs`, newest first, with when (ms). */
  lessRequests(actor: number, sinceMs: number): Array<{ author: number; atMs: number }> {
    return this.lessOf.all(actor, sinceMs * 1000, SIGNAL_ROWS).map((r) => ({ author: r.author_id, atMs: r.time_us / 1000 }));
  }

  /** What the user's recent interactions ask of the ranking. */
  signals(actor: number): UserSignals {
    const seenPosts = new Set<number>();
    const lessAuthors = new Set<number>();
    const morePosts = new Set<number>();
    for (const row of this.interactionsOf.all(actor, this.nowMs() * 1000 - SIGNAL_WINDOW_US, SIGNAL_ROWS)) {
      if (row.event === SEEN) seenPosts.add(row.post_id);
      else if (row.event === LESS) lessAuthors.add(row.author_id);
      else morePosts.add(row.post_id);
    }
    return { seenPosts, lessAuthors, morePosts };
  }

  actorId(did: string): number | undefined {
    return this.actorByDid.get(did)?.id;
  }

  actorDid(actor: number): string | undefined {
    return this.didById.get(actor)?.did;
  }

  /** URIs of the posts, in order; a post pruned since it was ranked is left out. */
  postUris(posts: Iterable<number>): string[] {
    const uris: string[] = [];
    for (const id of posts) {
      const uri = this.postUri(id);
      if (uri !== undefined) uris.push(uri);
    }
    return uris;
  }

  postUri(post: number): string | undefined {
    const row = this.postById.get(post);
    return row && postUri(row.did, row.rkey);
  }
}
