import { FeedEngine } from '../feed/feed-engine.js';
import { createHttpApp } from '../http/server.js';
import { ReplicaLayout } from '../replication/bucket/layout.js';
import { Follower } from '../replication/follower/follower.js';
import type { AppContext } from './context.js';
import { HttpFront } from './http-front.js';
import { loadInBackground, type NodeParts, type RunningRole } from './node-parts.js';

/** Between a replica's attempts to find a copy in the bucket. */
const BOOTSTRAP_RETRY_MS = 2000;

/**
 * A read replica: it never writes the database and never runs Litestream. Started in order:
 *   1. the follower of the bucket, not yet polling;
 *   2. HTTP listens at once: until the copy is ready, feed reads and every write are
 *      replayed to the primary (fly-replay), and health says "not ready";
 *   3. in the background, the follower restores (or resumes) a copy, retrying until the
 *      primary has uploaded a generation; then the feed engine opens on it and the
 *      follower keeps it current. A new generation loads a new engine (see reload).
 */
export async function startReplica(ctx: AppContext, parts: NodeParts): Promise<RunningRole> {
  const { config, metrics, log } = ctx;
  let stopping = false;

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
    onRestored: () => reload(),
  });

  // 2. HTTP.
  const app = createHttpApp(ctx, { feed: parts.feed, verifyUser: parts.auth.verify, recordInteractions: undefined, replica: follower, status: parts.status });
  const http = await HttpFront.open(ctx, app);
  parts.status.start();

  // 3. The copy, then the engine over it.
  const bootstrap = async (): Promise<boolean> => {
    while (!stopping) {
      try {
        await follower.bootstrap();
        return true;
      } catch (err) {
        log.warn({ err: String(err) }, 'replica: could not restore or resume a copy yet, retrying');
        await new Promise((resolve) => setTimeout(resolve, BOOTSTRAP_RETRY_MS));
      }
    }
    return false;
  };
  void bootstrap().then((ready) => {
    if (!ready || stopping) return;
    const engine = FeedEngine.open(ctx, parts.served);
    parts.feed.swap(engine);
    follower.setExclusive((apply) => engine.withDatabaseClosed(apply));
    loadInBackground(engine, parts, () => stopping, log);
    follower.start();
  });

  /**
   * A new generation was swapped in (the primary restarted, or was rolled back): its rows
   * may not continue the old ids, so a new like graph loads from it while the old one
   * serves, then takes over.
   */
  function reload(): void {
    const old = parts.feed.get();
    const next = FeedEngine.open(ctx, parts.served);
    follower.setExclusive((apply) => next.withDatabaseClosed(() => (old ? old.withDatabaseClosed(apply) : apply())));
    next.start().then(
      () => {
        if (stopping) return next.stop();
        parts.feed.swap(next);
        follower.setExclusive((apply) => next.withDatabaseClosed(apply));
        old?.stop();
        log.info('replica: like graph reloaded from the new generation');
      },
      (err: unknown) => {
        log.fatal({ err }, 'like graph failed to reload');
        parts.onFatal(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  return {
    port: () => http.port(),
    stop: async () => {
      stopping = true;
      parts.status.stop();
      await http.close();
      follower.stop();
      parts.feed.get()?.stop();
    },
  };
}
