import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type DbOptions, openWriter } from '../../src/store/database.js';
import { splitPostUri } from '../../src/atproto/identifiers.js';
import { parseFrame } from '../../src/ingest/parse.js';
import { type StoredRecordKey, toStoredRecordKey } from '../../src/store/record-key.js';

/** Rows per transaction in the bare loop: large, as the fastest bulk load would use. */
const RAW_BATCH_ROWS = 50_000;

export interface RawLimit {
  likeRows: number;
  seconds: number;
  rowsPerSecond: number;
}

/**
 * The raw limit of this schema on this machine: the like rows of the dataset, with
 * their actor and post rows, inserted by a bare better-sqlite3 loop on a connection
 * opened exactly as the service opens its own. Ids are assigned
 * in memory and the file parsed before the clock starts, so only SQLite is timed.
 */
export async function measureRawInsertLimit(datasetFile: string, dbPath: string, dbOptions: DbOptions): Promise<RawLimit> {
  const actors = new Map<string, number>();
  const posts = new Map<string, number>();
  const likes: Array<[number, StoredRecordKey, number, number]> = [];
  const intern = (map: Map<string, number>, key: string) => {
    let id = map.get(key);
    if (id === undefined) map.set(key, (id = map.size + 1));
    return id;
  };
  const postRows: Array<[number, number, string, number]> = [];
  for await (const line of createInterface({ input: createReadStream(datasetFile), crlfDelay: Infinity })) {
    const result = parseFrame(Buffer.from(line), false, 1 << 20);
    if (result.outcome !== 'event' || result.event.type !== 'like') continue;
    const { did, rkey, subjectUri, timeUs } = result.event;
    const subject = splitPostUri(subjectUri);
    const actorId = intern(actors, did);
    const authorId = intern(actors, subject.authorDid);
    const postKey = `${authorId}/${subject.rkey}`;
    const known = posts.has(postKey);
    const postId = intern(posts, postKey);
    if (!known) postRows.push([postId, authorId, subject.rkey, timeUs]);
    likes.push([actorId, toStoredRecordKey(rkey), postId, timeUs]);
  }

  const db = openWriter(dbPath, dbOptions);
  const insertActor = db.prepare('INSERT INTO actors (id, did) VALUES (?, ?)');
  const insertPost = db.prepare('INSERT INTO posts (id, author_id, rkey, first_seen_us) VALUES (?, ?, ?, ?)');
  const insertLike = db.prepare('INSERT INTO likes (actor_id, rkey, post_id, time_us) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
  const actorRows = [...actors].map(([did, id]) => [id, did] as const);

  const started = performance.now();
  const inBatches = <T>(rows: readonly T[], insert: (row: T) => void) => {
    for (let i = 0; i < rows.length; i += RAW_BATCH_ROWS) {
      db.transaction(() => rows.slice(i, i + RAW_BATCH_ROWS).forEach(insert))();
    }
  };
  inBatches(actorRows, ([id, did]) => insertActor.run(id, did));
  inBatches(postRows, ([id, author, rkey, t]) => insertPost.run(id, author, rkey, t));
  inBatches(likes, ([actor, rkey, post, t]) => insertLike.run(actor, rkey, post, t));
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return { likeRows: likes.length, seconds, rowsPerSecond: likes.length / seconds };
}
