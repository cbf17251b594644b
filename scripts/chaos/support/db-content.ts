/**
 * What a database holds, spelled without row ids (they depend on arrival order), so two
 * runs of one stream can be compared table by table.
 */
import { openReader } from '../../../src/store/database.js';
import { defineRecordKeyText } from '../../../src/store/record-key.js';

export interface DbContent {
  /** Every like row, unliked ones included: "liker|rkey|post author|post rkey|deleted|time_us". */
  likes: string[];
  posts: string[];
  actors: string[];
  /** The change log the like graph follows: "kind|time_us", repeats kept (a replay must not add one). */
  changes: string[];
  /** The live-like counter kept in meta, which must match the rows. */
  liveLikesMeta: number | undefined;
}

const QUERIES = {
  likes: `SELECT a.did || '|' || record_key_text(l.rkey) || '|' || pa.did || '|' || p.rkey || '|' || l.deleted || '|' || l.time_us
          FROM likes l JOIN actors a ON a.id = l.actor_id JOIN posts p ON p.id = l.post_id JOIN actors pa ON pa.id = p.author_id`,
  posts: `SELECT a.did || '|' || p.rkey || '|' || p.flags || '|' || ifnull(p.created_us, '') || '|' || p.first_seen_us
          FROM posts p JOIN actors a ON a.id = p.author_id`,
  actors: `SELECT did || '|' || active || '|' || ifnull(status, '') || '|' || ifnull(status_seq, '') FROM actors`,
  changes: `SELECT kind || '|' || time_us FROM changes`,
} as const;

export function dbContent(dbPath: string): DbContent {
  const db = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    defineRecordKeyText(db);
    const rows = (sql: string) => (db.prepare(sql).pluck().all() as string[]).sort();
    const live = db.prepare("SELECT value FROM meta WHERE key = 'live_likes'").pluck().get();
    return {
      likes: rows(QUERIES.likes),
      posts: rows(QUERIES.posts),
      actors: rows(QUERIES.actors),
      changes: rows(QUERIES.changes),
      liveLikesMeta: typeof live === 'number' ? live : undefined,
    };
  } finally {
    db.close();
  }
}

/** Live likes (not unliked) of a content, as "liker|rkey|post author|post rkey". */
export function liveLikes(content: DbContent): string[] {
  return content.likes.filter((row) => row.split('|')[4] === '0').map((row) => row.split('|').slice(0, 4).join('|'));
}

/**
 * How `actual` differs from `expected`, table by table ("likes: 3 missing, 1 extra"), or
 * '' when equal; the meta counter must also equal the live rows.
 */
export function contentDiff(actual: DbContent, expected: DbContent): string {
  const problems: string[] = [];
  for (const table of ['likes', 'posts', 'actors', 'changes'] as const) {
    const { missing, extra } = multisetDiff(actual[table], expected[table]);
    if (missing + extra > 0) problems.push(`${table}: ${missing} missing, ${extra} extra`);
  }
  const live = liveLikes(actual).length;
  if (actual.liveLikesMeta !== live) problems.push(`meta live_likes ${actual.liveLikesMeta} != ${live} live rows`);
  return problems.join('; ');
}

/** Counts of rows only in `expected` (missing) and only in `actual` (extra), repeats counted: both sorted. */
function multisetDiff(actual: readonly string[], expected: readonly string[]): { missing: number; extra: number } {
  let i = 0;
  let j = 0;
  let missing = 0;
  let extra = 0;
  while (i < actual.length || j < expected.length) {
    if (j >= expected.length || (i < actual.length && actual[i]! < expected[j]!)) {
      extra++;
      i++;
    } else if (i >= actual.length || expected[j]! < actual[i]!) {
      missing++;
      j++;
    } else {
      i++;
      j++;
    }
  }
  return { missing, extra };
}

/** The newest event time committed (likes, the change log, posts first seen): where a resume must not start after. */
export function newestCommittedUs(dbPath: string): number {
  const db = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    return db
      .prepare(
        `SELECT max(ifnull((SELECT max(time_us) FROM likes), 0),
                    ifnull((SELECT max(time_us) FROM changes), 0), ifnull((SELECT max(first_seen_us) FROM posts), 0))`,
      )
      .pluck()
      .get() as number;
  } finally {
    db.close();
  }
}

/** A number that moves whenever a batch commits (rows and the cursor): to tell when ingest has gone quiet. */
export function commitMark(dbPath: string): string {
  const db = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    return JSON.stringify(
      db
        .prepare(
          `SELECT (SELECT count(*) FROM likes) AS likes, (SELECT count(*) FROM changes) AS changes,
                  (SELECT value FROM meta WHERE key = 'cursor_time_us') AS cursor`,
        )
        .get(),
    );
  } finally {
    db.close();
  }
}

/** Like rows committed, unliked ones included: only grows while nothing is pruned. */
export function likeRowCount(dbPath: string): number {
  const db = openReader(dbPath, { busyTimeoutMs: 5000 });
  try {
    return db.prepare('SELECT count(*) FROM likes').pluck().get() as number;
  } finally {
    db.close();
  }
}
