import type { Database, Statement } from 'better-sqlite3';
import { postUri } from '../ingest/identifiers.js';
import type { FeedLookup } from '../ranker/feed-ranker.js';

/** Names to ids and back, through indexed lookups on a read-only connection. */
export class SqliteFeedLookup implements FeedLookup {
  private readonly actorByDid: Statement<[string], { id: number }>;
  private readonly postById: Statement<[number], { did: string; rkey: string }>;

  constructor(db: Database) {
    this.actorByDid = db.prepare('SELECT id FROM actors WHERE did = ?');
    this.postById = db.prepare('SELECT a.did, p.rkey FROM posts p JOIN actors a ON a.id = p.author_id WHERE p.id = ?');
  }

  actorId(did: string): number | undefined {
    return this.actorByDid.get(did)?.id;
  }

  /** URIs of the posts, in order; a post pruned since it was ranked is left out. */
  postUris(posts: Int32Array): string[] {
    const uris: string[] = [];
    for (const id of posts) {
      const row = this.postById.get(id);
      if (row) uris.push(postUri(row.did, row.rkey));
    }
    return uris;
  }
}
