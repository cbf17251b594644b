import { createHttpApp } from '../http/server.js';
import { FeedEngine } from '../feed/feed-engine.js';
import { DiskGuard } from '../ingest/disk-guard.js';
import { Ingester } from '../ingest/ingester.js';
import { WriterThread } from '../ingest/writer/writer-thread.js';
import { LitestreamMonitor } from '../replication/litestream/monitor.js';
import type { AppContext } from './context.js';
import { HttpFront } from './http-front.js';
import { loadEngine, type NodeParts, type RunningRole } from './node-parts.js';

/**
 * The primary, the only process that writes. Started in order:
 *   1. the writer thread opens (and migrates) the database and reads the stored cursor;
 *   2. the feed engine opens a reader on it;
 *   3. HTTP listens: health says "not ready" until the like graph has loaded;
 *   4. ingest connects to Jetstream from the stored cursor;
 *   5. the status sampler and the like graph's load start in the background; once loaded,
 *      the database says `serving` (replicas read it before handing this primary a read).
 * Stopped: status, HTTP (requests under way finish while the writer runs), ingest (its last
 * batch committed), the writer, Litestream's monitor, and the engine last: it only reads.
 */
export async function startPrimary(ctx: AppContext, parts: NodeParts): Promise<RunningRole> {
  const { config, metrics, log } = ctx;

  // 1. The writer.
  const writer = await WriterThread.start(
    { dbPath: config.dbPath, db: config.db, retention: config.retention, writerPauseMs: config.ingest.writerPauseMs },
    {
      onPruned: ({ result, liveLikes }) => {
        for (const table of ['likes', 'posts', 'changes'] as const) metrics.pruned.inc({ table }, result[table]);
        metrics.likes.set(liveLikes);
      },
      onHousekeepingError: ({ task, message }) => log.error({ task, err: message }, 'writer housekeeping failed'),
      onMemory: ({ heapUsedBytes, heapTotalBytes }) => {
        metrics.writerHeapBytes.set({ kind: 'used' }, heapUsedBytes);
        metrics.writerHeapBytes.set({ kind: 'total' }, heapTotalBytes);
      },
      onCrash: (err) => {
        // Without its writer the primary cannot ingest. What was not committed is re-read
        // from the cursor, so the safe move is to exit and let the supervisor restart us.
        log.fatal({ err }, 'writer thread crashed');
        parts.onFatal(err);
      },
    },
  );
  metrics.likes.set(writer.liveLikeCount());

  // 2. The feed engine, over a reader of the same file.
  const engine = FeedEngine.open(ctx, parts.served);
  parts.feed.swap(engine);

  // 3. HTTP. If it cannot listen, what is open closes before the error goes on.
  let ingester: Ingester | undefined;
  const app = createHttpApp(ctx, {
    feed: parts.feed,
    verifyUser: parts.auth.verify,
    recordInteractions: (did, interactions) => writer.writeInteractions(did, interactions),
    status: parts.status,
    ingestPaused: () => ingester?.pauseReason(),
  });
  let http: HttpFront;
  try {
    http = await HttpFront.open(ctx, app);
  } catch (err) {
    engine.stop();
    await writer.stop();
    throw err;
  }

  // 4. Ingest, held while the data volume is nearly full; Litestream's metrics when the launcher runs it beside us.
  ingester = new Ingester({
    config: config.ingest,
    source: ctx.eventSource,
    sink: writer,
    storedCursor: writer.initialCursor,
    metrics,
    log,
    // Follow records keep the follows of users already cached current; they are never stored.
    follows: ctx.follows,
    onPauseChange: (reason) => void writer.writeIngestPaused(reason).catch((err: unknown) => log.warn({ err, reason }, 'could not tell replicas why ingest paused')),
  });
  parts.status.readIngestPauseFrom(() => ingester?.pauseReason());
  const diskGuard = new DiskGuard({ dir: config.dataDir, pausePercent: config.ingest.diskGuardPercent, metrics, log, onChange: (hold) => ingester?.hold(hold) });
  diskGuard.start();
  ingester.start();
  const litestream = config.litestreamMetricsUrl ? new LitestreamMonitor(config.litestreamMetricsUrl, metrics) : undefined;
  litestream?.start();

  // 5. The background parts. Once the graph has loaded, replicas may hand it stale reads.
  parts.status.start();
  void loadEngine(engine, parts, log).then(async (loaded) => {
    if (!loaded) return;
    await writer.writePrimaryFeed('serving').catch((err: unknown) => log.error({ err }, 'could not tell replicas the feed is serving'));
  });

  return {
    port: () => http.port(),
    stop: async () => {
      parts.status.stop();
      // HTTP first: no new request, and those under way (a sendInteractions waiting on the
      // writer) finish while the writer still runs.
      await http.close();
      // Then ingest: its last batch is committed before the writer closes the database.
      diskGuard.stop();
      await ingester.stop();
      await writer.stop();
      litestream?.stop();
      engine.stop();
    },
  };
}
