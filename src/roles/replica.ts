import { setTimeout as sleep } from 'node:timers/promises';
import { FeedEngine } from '../feed/feed-engine.js';
import { createHttpApp } from '../http/server.js';
import { ReplicaLayout } from '../replication/bucket/layout.js';
import { Follower } from '../replication/follower/follower.js';
import type { AppContext } from './context.js';
import { HttpFront } from './http-front.js';
import { loadEngine, type NodeParts, type RunningRole } from './node-parts.js';

/** Between a replica's attempts to find a copy in the bucket. */
const BOOTSTRAP_RETRY_MS = 2000;

/**
 * A read replica: it never writes the database and never runs Litestream. Started in order:
 *   1. the follower of the bucket, not yet polling;
 *   2. HTTP listens at once: every write is replayed to the primary (fly-replay), and so
 *      are feed reads while the copy is missing or behind; health says "not ready";
 *   3. in the background, the follower restores (or resumes) a copy, retrying until the
 *      primary has uploaded a generation; then the feed engine opens on it and the
 *      follower keeps it current. A new generation loads a new engine (see reload).
 * Stopped: status, HTTP, the follower (its poll under way ends first), then the engines.
 */
export async function startReplica(ctx: AppContext, parts: NodeParts): Promise<RunningRole> {
  const { config, metrics, log } = ctx;
  const stop = new AbortController();
  /** An engine loading from a new generation, not serving yet. */
  let pending: FeedEngine | undefined;

  // 1. The follower.
  const { store, root } = ctx.bucket;
  const follower: Follower = new Follower({
    store,
    layout: new ReplicaLayout(root),
    dbPath: config.dbPath,
    log,
    metrics,
    pollMs: config.replica.pollMs,
    stallMs: config.replica.stallMs,
    minCheckpointPages: config.litestream.minCheckpointPages,
    onRestored: () => void reload(),
  });

  // 2. HTTP.
  const app = createHttpApp(ctx, { feed: parts.feed, verifyUser: parts.auth.verify, recordInteractions: undefined, replica: follower, status: parts.status,
    ingestPaused: () => follower.primaryIngestPaused(),
  });
  const http = await HttpFront.open(ctx, app);
  parts.status.readIngestPauseFrom(() => follower.primaryIngestPaused());
  parts.status.start();

  // 3. The copy, then the engine over it.
  void bootstrap().then(async (ready) => {
    if (!ready) return;
    const engine = FeedEngine.open(ctx, parts.served);
    parts.feed.swap(engine);
    follower.setExclusive((apply) => engine.withDatabaseClosed(apply));
    follower.start();
    await loadEngine(engine, parts, log);
  });

  async function bootstrap(): Promise<boolean> {
    while (!stop.signal.aborted) {
      try {
        await follower.bootstrap();
        return !stop.signal.aborted;
      } catch (err) {
        log.warn({ err: String(err) }, 'replica: could not restore or resume a copy yet, retrying');
        await sleep(BOOTSTRAP_RETRY_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    }
    return false;
  }

  /**
   * A new generation was swapped in (the primary restarted, or was rolled back): its rows
   * may not continue the old ids, so a new like graph loads from it while the serving one
   * goes on, then takes over. A newer generation arriving meanwhile supersedes the load.
   */
  async function reload(): Promise<void> {
    pending?.stop();
    const next = FeedEngine.open(ctx, parts.served);
    pending = next;
    const serving = parts.feed.get();
    // Both engines hold connections to the file the follower writes: both close around an apply.
    follower.setExclusive((apply) => next.withDatabaseClosed(() => (serving ? serving.withDatabaseClosed(apply) : apply())));
    if (!(await loadEngine(next, parts, log, 'like graph failed to reload')) || pending !== next) return;
    pending = undefined;
    if (stop.signal.aborted) return next.stop();
    const replaced = parts.feed.swap(next);
    follower.setExclusive((apply) => next.withDatabaseClosed(apply));
    replaced?.stop();
    log.info('replica: like graph reloaded from the new generation');
  }

  return {
    port: () => http.port(),
    stop: async () => {
      stop.abort();
      parts.status.stop();
      await http.close();
      await follower.stop();
      pending?.stop();
      parts.feed.get()?.stop();
    },
  };
}
