import type { AnyDb } from './database.js';
import { toStoredRecordKey } from './record-key.js';

/**
 * The schema, versioned with `PRAGMA user_version`. Integer ids for actors and
 * posts keep the like rows and their indexes small (as For You's items/raters/ratings).
 *
 * The like graph tails append-only sequences:
 * - `likes.id` (AUTOINCREMENT: never reused, so `id > last` finds every new row);
 * - `changes.seq`: deletions and account status changes, each naming the row it touched.
 * `posts.id` is AUTOINCREMENT too, so an id kept in memory (a ranked list, the served
 * log) never comes to name another post once its row is pruned.
 * Likes by actor are served by the in-memory like graph, not by an index here: an
 * (actor_id, time) index takes random inserts and halves the ingest rate (measured:
 * 234k vs 115k rows/s), while the graph loads with one scan in id order.
 *
 * Pruning by age is not logged row by row: `meta.pruned_like_id` says every like at or
 * below it is gone (likes are pruned in id order).
 *
 * A migration is SQL, or a function for one that needs code (it runs in the migration's
 * transaction). Never edit one that has shipped: add the next.
 */
type Migration = string | ((db: AnyDb) => void);

const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value ANY
  ) WITHOUT ROWID;

  CREATE TABLE actors (
    id         INTEGER PRIMARY KEY,
    did        TEXT NOT NULL UNIQUE,
    active     INTEGER NOT NULL DEFAULT 1,
    status     TEXT,
    -- seq of the account event that set the status: an older replayed event never wins
    status_seq INTEGER
  );

  CREATE TABLE posts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id     INTEGER NOT NULL,
    rkey          TEXT NOT NULL,
    first_seen_us INTEGER NOT NULL,
    created_us    INTEGER,
    -- bit flags, see POST_FLAGS
    flags         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (rkey, author_id)
  );

  CREATE TABLE likes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id INTEGER NOT NULL,
    rkey     TEXT NOT NULL,
    post_id  INTEGER NOT NULL,
    time_us  INTEGER NOT NULL,
    -- an unliked row stays (flagged) until pruned, so a rewound replay of its create stays a duplicate
    deleted  INTEGER NOT NULL DEFAULT 0,
    -- rkey first: record keys are TIDs, so new keys land at the right edge of the index
    UNIQUE (rkey, actor_id)
  );
  CREATE INDEX likes_by_post_time ON likes (post_id, time_us);

  CREATE TABLE reposts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id INTEGER NOT NULL,
    rkey     TEXT NOT NULL,
    post_id  INTEGER NOT NULL,
    time_us  INTEGER NOT NULL,
    deleted  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (rkey, actor_id)
  );

  CREATE TABLE changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    INTEGER NOT NULL,
    ref_id  INTEGER NOT NULL,
    time_us INTEGER NOT NULL
  );

  CREATE TABLE heartbeat (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    time_ms INTEGER NOT NULL
  );
  `,
  // 2: what users tell the feed through sendInteractions (seen, show less, show more, ...)
  `
  CREATE TABLE interactions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id     INTEGER NOT NULL,
    post_id      INTEGER,
    -- see INTERACTION_EVENTS
    event        INTEGER NOT NULL,
    req_id       TEXT,
    feed_context TEXT,
    time_us      INTEGER NOT NULL
  );
  CREATE INDEX interactions_by_actor_time ON interactions (actor_id, time_us);
  `,
  // 3: smaller likes, and no index a like lands on at a random page (see likesByPostFreed)
  likesByPostFreed,
  // 4: reposts were stored and never read. Used as likes they did not raise the offline
  // evaluation's recall, and they cost 19 % of the WAL and 9 % of the database (docs/benchmarks.md).
  `
  DROP TABLE reposts;
  DELETE FROM meta WHERE key = 'pruned_repost_id';
  `,
];

/**
 * Each like landed on a random page of `likes_by_post_time`, kept only so the pruner
 * could ask whether anything still likes an old post: a 4 KiB page of WAL per like at
 * the firehose's batch sizes. Instead a post row holds `like_bound`, an id no like of
 * the post exceeds, raised with slack (see LIKE_BOUND_SLACK) so a post liked all day is
 * written a few times, not once a like. Record keys that are TIDs are stored as their
 * 64-bit integer (see record-key.ts): 8 bytes for 13 of text, in the row and again in
 * its unique index. The likes table is rebuilt with its ids and its AUTOINCREMENT
 * high-water mark (one INSERT..SELECT in id order, in the migration's one transaction:
 * SQLite spills the pages it builds to the WAL, so memory stays at the page cache whatever
 * the table's size, while the disk must hold a WAL about as big as the new table, once).
 */
function likesByPostFreed(db: AnyDb): void {
  db.function('stored_record_key', { deterministic: true }, (rkey: unknown) => toStoredRecordKey(String(rkey)));
  db.exec(`
    ALTER TABLE posts ADD COLUMN like_bound INTEGER NOT NULL DEFAULT 0;
    UPDATE posts SET like_bound = ifnull((SELECT max(l.id) FROM likes l WHERE l.post_id = posts.id), 0);

    CREATE TABLE likes_v3 (
      id       INTEGER PRIMARY KEY AUTOINCREMENT,
      actor_id INTEGER NOT NULL,
      -- no type affinity: a TID as its integer, any other record key as text
      rkey     NOT NULL,
      post_id  INTEGER NOT NULL,
      time_us  INTEGER NOT NULL,
      -- an unliked row stays (flagged) until pruned, so a rewound replay of its create stays a duplicate
      deleted  INTEGER NOT NULL DEFAULT 0,
      -- rkey first: record keys are TIDs, so new keys land at the right edge of the index
      UNIQUE (rkey, actor_id)
    );
    INSERT INTO likes_v3 (id, actor_id, rkey, post_id, time_us, deleted)
      SELECT id, actor_id, stored_record_key(rkey), post_id, time_us, deleted FROM likes ORDER BY id;
    -- ids are never reused, even those of likes already pruned
    DELETE FROM sqlite_sequence WHERE name = 'likes_v3';
    INSERT INTO sqlite_sequence (name, seq) SELECT 'likes_v3', seq FROM sqlite_sequence WHERE name = 'likes';
    DROP TABLE likes;
    ALTER TABLE likes_v3 RENAME TO likes;
  `);
}

/**
 * How far past a like's id its post's `like_bound` is set: the post row is written again
 * only once that many likes have come in since. Freeing an old post waits for the
 * bound, or for the last like of all, to be pruned: under an hour of likes at the
 * firehose rate (~330 a second), against a window of weeks.
 */
export const LIKE_BOUND_SLACK = 1_000_000;

export const POST_FLAGS = {
  /** The post record itself was seen (not only referenced by a like). */
  seen: 1,
  reply: 2,
  deleted: 4,
} as const;

/** What a row of `changes` records. */
export const CHANGE_KIND = {
  likeDeleted: 1,
  postDeleted: 2,
  actorStatus: 3,
} as const;

/** The interaction events of app.bsky.feed.defs, as stored; other event names are not kept. */
export const INTERACTION_EVENTS = [
  'app.bsky.feed.defs#interactionSeen',
  'app.bsky.feed.defs#requestLess',
  'app.bsky.feed.defs#requestMore',
  'app.bsky.feed.defs#clickthroughItem',
  'app.bsky.feed.defs#clickthroughAuthor',
  'app.bsky.feed.defs#clickthroughReposter',
  'app.bsky.feed.defs#clickthroughEmbed',
  'app.bsky.feed.defs#interactionLike',
  'app.bsky.feed.defs#interactionRepost',
  'app.bsky.feed.defs#interactionReply',
  'app.bsky.feed.defs#interactionQuote',
  'app.bsky.feed.defs#interactionShare',
] as const;

export type InteractionEvent = (typeof INTERACTION_EVENTS)[number];

/** The stored code of an event: its position in INTERACTION_EVENTS, plus one. */
export function interactionCode(event: InteractionEvent): number {
  return INTERACTION_EVENTS.indexOf(event) + 1;
}

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema to `target` (tests build older versions to migrate from). */
export function migrate(db: AnyDb, target: number = SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this build's ${SCHEMA_VERSION}`);
  }
  for (let version = current; version < target; version++) {
    db.transaction(() => {
      const migration = MIGRATIONS[version]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
