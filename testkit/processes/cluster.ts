import path from 'node:path';
import { freePort } from './processes.js';
import { type Health, waitHealthy } from './health.js';
import type { FlyEdge } from '../standins/fly-edge.js';
import type { PlcDirectory } from '../standins/plc-directory.js';
import { repeatUntilStopped } from '../polling/repeat.js';
import { FEED_URI, feedIdentityEnv, type SignedUser } from './feed-service.js';
import { type Primary, startPrimary } from './primary.js';
import { type ReaderDb, withReader } from '../../src/store/database.js';

/** One machine of the cluster: a launcher (primary under Litestream, or a replica alone) on its own port and folder. */
export interface Node {
  region: string;
  url: string;
  env: Record<string, string>;
  dbPath: string;
  process: Primary;
}

/**
 * What every node of a cluster shares: the feed's identity, the primary's region ("ams"),
 * and replica timings quick enough that a fault and its recovery take seconds.
 */
export function clusterEnv(plc: Pick<PlcDirectory, 'url'>, maxLagS: number): Record<string, string> {
  return {
    ...feedIdentityEnv(plc),
    PRIMARY_REGION: 'ams',
    MAX_REPLICA_LAG: String(maxLagS),
    REPLICA_POLL_MS: '200',
    REPLICA_STALL_MS: '1000',
    GRAPH_POLL_MS: '100',
  };
}

/**
 * Starts the launcher in `region` with `env` (DATA_DIR, the S3 variables, LITESTREAM_PATH,
 * the cluster's settings), on env's PORT or a free one.
 */
export async function startNode(region: string, env: Record<string, string> & { DATA_DIR: string }): Promise<Node> {
  const port = env.PORT ?? String(await freePort());
  const full = { ...env, FLY_REGION: region, PORT: port };
  return { region, url: `http://127.0.0.1:${port}`, env: full, dbPath: path.join(env.DATA_DIR, 'feed.db'), process: startPrimary(full) };
}

/** The same node again (same port, folder and bucket path), after it stopped or was killed. */
export function restartNode(node: Node): Node {
  return { ...node, process: startPrimary(node.env) };
}

/** Resolves once the node says ready; fails early if its launcher exits. */
export function waitReady(node: Node, timeoutMs: number): Promise<Health> {
  return waitHealthy(node.url, timeoutMs, `${node.region} ready`, node.process);
}

/** Opens a database file read-only for `read`; undefined while it cannot be read (a replica's file between two applies, say). */
function readDb<T>(dbPath: string, read: (db: ReaderDb) => T): T | undefined {
  try {
    return withReader(dbPath, read);
  } catch {
    return undefined;
  }
}

/** The newest like id of a database file. */
export function maxLikeId(dbPath: string): number | undefined {
  return readDb(dbPath, (db) => (db.prepare('SELECT max(id) AS id FROM likes').get() as { id: number | null }).id ?? 0);
}

/** Every row of every table but the heartbeat (it changes every second), as sorted JSON lines: the whole content to compare. */
export function tablesIn(dbPath: string): Record<string, string[]> | undefined {
  return readDb(dbPath, (db) => {
    const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('heartbeat', 'sqlite_sequence')").pluck().all() as string[];
    return Object.fromEntries(names.map((name) => [name, db.prepare(`SELECT * FROM "${name}"`).all().map((row) => JSON.stringify(row)).sort()]));
  });
}

/** A getFeedSkeleton through the edge, and whether the edge replayed it. */
export interface FeedRead {
  region: string;
  status: number;
  posts: string[];
  replayed: boolean;
  /** Milliseconds since the epoch, when it was sent. */
  at: number;
  error?: string;
}

/**
 * One personal getFeedSkeleton through the edge, preferring `region`. `replayed` is told
 * from the edge's counters: exact only while no other request goes through the edge.
 */
export async function readFeed(edge: FlyEdge, region: string, user: SignedUser, limit = 30): Promise<FeedRead> {
  const before = edge.stats().replays;
  const at = Date.now();
  const query = new URLSearchParams({ feed: FEED_URI, limit: String(limit) });
  try {
    const res = await fetch(`${edge.url}/xrpc/app.bsky.feed.getFeedSkeleton?${query}`, {
      headers: { 'fly-prefer-region': region, authorization: await user.bearer('app.bsky.feed.getFeedSkeleton') },
    });
    const text = await res.text();
    const replayed = edge.stats().replays > before;
    if (res.status !== 200) return { region, status: res.status, posts: [], replayed, at, error: text.slice(0, 300) };
    const body = JSON.parse(text) as { feed: Array<{ post: string }> };
    return { region, status: 200, posts: body.feed.map((item) => item.post), replayed, at };
  } catch (err) {
    return { region, status: 0, posts: [], replayed: false, at, error: String(err) }; // the edge did not answer
  }
}

/**
 * Reads the feed of `users` from `regions` in turn, one read at a time, `gapMs` apart,
 * until `stop()`, which resolves with every read.
 */
export function keepReading(edge: FlyEdge, regions: string[], users: SignedUser[], gapMs: number): { stop: () => Promise<FeedRead[]> } {
  let i = 0;
  return repeatUntilStopped(() => {
    const [region, user] = [regions[i % regions.length]!, users[i % users.length]!];
    i++;
    return readFeed(edge, region, user);
  }, gapMs);
}
