/**
 * A database of `likes` likes shaped like the firehose, built straight into SQLite for the
 * graph benchmark: the like graph's load and memory are the subject, so the rows are made
 * in memory (no Jetstream frames, no writer) and the like index by post, which the graph load
 * never reads, is dropped before the bulk insert (with it, 100 M rows take hours; the
 * other is on (rkey, actor_id), and the keys made here increase, as TIDs do).
 *
 * The shape, per like: 330 likes a second (ids and times follow it); the actor drawn from
 * a Zipf law over the accounts (heavy-tailed activity); one new post per 6 likes; the
 * post, 60 % of the time, from the trending set (the newest 20,000 posts, each with a
 * Pareto weight, redrawn every 100,000 likes), else at an exponentially distributed age
 * (mean 8 hours of posts): heavy-tailed posts, most likes on the last day's. 2 % of the
 * likes are unliked (flagged deleted, as the writer leaves them).
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { openWriter } from '../../src/store/database.js';
import { AliasTable, Rng } from '../../testkit/dataset/random.js';

const LIKES_PER_SECOND = 330;
const LIKES_PER_POST = 6;
const TRENDING_POSTS = 20_000;
const TRENDING_SHARE = 0.6;
const TRENDING_EVERY = 100_000;
const POST_AGE_MEAN_S = 8 * 3600;
const UNLIKED_SHARE = 0.02;
const ROWS_PER_TRANSACTION = 200_000;
const START_S = 1_780_000_000;

export interface GraphDataset {
  path: string;
  likes: number;
  actors: number;
  posts: number;
  newestTimeS: number;
}

/** Accounts for a window of `likes`: a day of the firehose has about 1.5 M active likers. */
export function actorsFor(likes: number): number {
  return Math.round(Math.min(3_000_000, Math.max(100_000, likes / 20)));
}

/** Builds the database at `path` unless it is there already (the build is by size and seed). */
export function ensureGraphDataset(path: string, likes: number, seed: number, progress: (line: string) => void): GraphDataset {
  const actors = actorsFor(likes);
  const posts = Math.ceil(likes / LIKES_PER_POST) + TRENDING_POSTS;
  const dataset = { path, likes, actors, posts, newestTimeS: START_S + Math.floor(likes / LIKES_PER_SECOND) };
  if (existsSync(path)) return dataset;
  const building = `${path}.building`;
  rmSync(building, { force: true });
  const db = openWriter(building, { busyTimeoutMs: 5000, walAutocheckpointPages: 10_000 });
  db.exec('DROP INDEX IF EXISTS likes_by_post_time; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144');
  const insertActor = db.prepare('INSERT INTO actors (id, did) VALUES (?, ?)');
  const insertPost = db.prepare('INSERT INTO posts (id, author_id, rkey, first_seen_us) VALUES (?, ?, ?, ?)');
  const insertLike = db.prepare('INSERT INTO likes (id, actor_id, rkey, post_id, time_us, deleted) VALUES (?, ?, ?, ?, ?, ?)');
  const rng = new Rng(seed);
  const activity = new AliasTable(Float64Array.from({ length: actors }, (_, i) => 1 / (i + 10)));

  db.transaction(() => {
    for (let id = 1; id <= actors; id++) insertActor.run(id, `did:plc:bench${id.toString(36)}`);
  })();
  let postsMade = 0;
  const makePost = (timeS: number) => {
    postsMade++;
    insertPost.run(postsMade, activity.sample(rng) + 1, postsMade.toString(36), timeS * 1e6);
  };
  db.transaction(() => {
    for (let i = 0; i < TRENDING_POSTS; i++) makePost(START_S);
  })();

  let trending = trendingTable(rng);
  const started = performance.now();
  for (let from = 1; from <= likes; from += ROWS_PER_TRANSACTION) {
    db.transaction(() => {
      for (let id = from; id < Math.min(likes + 1, from + ROWS_PER_TRANSACTION); id++) {
        const timeS = START_S + Math.floor(id / LIKES_PER_SECOND);
        if (id % LIKES_PER_POST === 0) makePost(timeS);
        if (id % TRENDING_EVERY === 0) trending = trendingTable(rng);
        let post: number;
        if (rng.float() < TRENDING_SHARE) post = postsMade - trending.sample(rng);
        else post = Math.max(1, postsMade - Math.floor(rng.exponential((POST_AGE_MEAN_S * LIKES_PER_SECOND) / LIKES_PER_POST)));
        const deleted = rng.float() < UNLIKED_SHARE ? 1 : 0;
        insertLike.run(id, activity.sample(rng) + 1, id.toString(36), post, timeS * 1e6, deleted);
      }
    })();
    const done = Math.min(likes, from + ROWS_PER_TRANSACTION - 1);
    if (done % 5_000_000 < ROWS_PER_TRANSACTION || done === likes) {
      progress(`dataset: ${(done / 1e6).toFixed(1)} M of ${(likes / 1e6).toFixed(1)} M likes (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  renameSync(building, path);
  rmSync(`${building}-wal`, { force: true });
  rmSync(`${building}-shm`, { force: true });
  return { ...dataset, posts: postsMade };
}

/** The trending set's weights: index 0 is the newest post. */
function trendingTable(rng: Rng): AliasTable {
  return new AliasTable(Float64Array.from({ length: TRENDING_POSTS }, () => rng.pareto(1.2, 10_000)));
}
