import type { Server } from 'node:http';
import { ServiceDidResolver } from './auth/did-resolver.js';
import { createServiceAuth, type ServiceAuth } from './auth/service-auth.js';
import type { Config } from './config/config.js';
import type { AppContext } from './context.js';
import { WriterThread } from './db/writer-thread.js';
import { createHttpApp, listen } from './http/server.js';
import { Ingester } from './ingest/ingester.js';
import { LitestreamMonitor } from './litestream/monitor.js';
import { FeedEngine } from './ranker/feed-engine.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { VERSION } from './version.js';

export interface ServiceOverrides {
  log?: Logger;
  /** What to do when the service can no longer work (default: exit with status 1). */
  onFatal?: (err: Error) => void;
  /** Bind address; tests use 127.0.0.1. */
  host?: string;
}

/** The primary's writing parts: present only where this process owns the database. */
interface PrimaryParts {
  writer: WriterThread;
  ingester: Ingester;
  /** Present when the launcher runs the service under Litestream. */
  litestream: LitestreamMonitor | undefined;
}

/**
 * The whole service: create (wire), start (open, listen, ingest), stop (in the
 * reverse order, flushing the last batch before the database closes).
 */
export class FeedService {
  private server: Server | undefined;
  private primary: PrimaryParts | undefined;
  private engine: FeedEngine | undefined;
  private stopping = false;

  private readonly auth: ServiceAuth;

  private constructor(
    readonly ctx: AppContext,
    private readonly host: string | undefined,
    private readonly onFatal: (err: Error) => void,
  ) {
    const { serviceDid, plcUrl } = ctx.config.feedgen;
    this.auth = createServiceAuth({ serviceDid, resolver: new ServiceDidResolver({ plcUrl }) });
  }

  static create(config: Config, overrides: ServiceOverrides = {}): FeedService {
    const log = overrides.log ?? createLogger(config.logLevel, { role: config.role, region: config.region });
    const ctx: AppContext = { config, version: VERSION, log, metrics: createMetrics() };
    return new FeedService(ctx, overrides.host, overrides.onFatal ?? (() => process.exit(1)));
  }

  async start(): Promise<void> {
    const { config, log } = this.ctx;
    if (config.role === 'primary') this.primary = await this.openPrimary();
    // The writer made the database; a replica gets its file from the follower (not built yet).
    if (this.primary) this.engine = FeedEngine.open(config.dbPath, config, this.ctx.metrics, log);
    const writer = this.primary?.writer;
    const app = createHttpApp(this.ctx, {
      feed: this.engine,
      verifyUser: this.auth.verify,
      recordInteractions: writer && ((did, interactions) => writer.writeInteractions(did, interactions)),
    });
    this.server = await listen(app, config.port, this.host);
    this.primary?.ingester.start();
    // The graph loads in the background; health says when it is ready.
    this.engine?.start().catch((err: unknown) => {
      if (this.stopping) return; // the database closed under the load: a stop, not a failure
      log.fatal({ err }, 'like graph failed to load');
      this.onFatal(err instanceof Error ? err : new Error(String(err)));
    });
    log.info({ port: this.port(), dbPath: config.dbPath, role: config.role, version: this.ctx.version }, 'service started');
  }

  /** The feed behind the XRPC routes; undefined until the database exists. */
  get feed(): FeedEngine | undefined {
    return this.engine;
  }

  /** The port actually bound (PORT=0 picks a free one). */
  port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.ctx.config.port;
  }

  async stop(): Promise<void> {
    const { log } = this.ctx;
    this.stopping = true;
    // Ingest first: its last batch is committed before the writer closes the database.
    await this.primary?.ingester.stop();
    await this.primary?.writer.stop();
    this.primary?.litestream?.stop();
    this.engine?.stop();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    log.info('service stopped');
  }

  private async openPrimary(): Promise<PrimaryParts> {
    const { config, metrics, log } = this.ctx;
    const writer = await WriterThread.start(
      { dbPath: config.dbPath, db: config.db, retention: config.retention, writerPauseMs: config.ingest.writerPauseMs },
      {
        onPruned: ({ result, liveLikes }) => {
          for (const table of ['likes', 'reposts', 'posts', 'changes'] as const) metrics.pruned.inc({ table }, result[table]);
          metrics.likes.set(liveLikes);
        },
        onHousekeepingError: ({ task, message }) => log.error({ task, err: message }, 'writer housekeeping failed'),
        onCrash: (err) => {
          // Without its writer the primary cannot ingest. What was not committed is re-read
          // from the cursor, so the safe move is to exit and let the supervisor restart us.
          log.fatal({ err }, 'writer thread crashed');
          this.onFatal(err);
        },
      },
    );
    metrics.likes.set(writer.liveLikeCount());
    const ingester = new Ingester({ config: config.ingest, sink: writer, storedCursor: writer.initialCursor, metrics, log });
    const litestream = config.litestreamMetricsUrl ? new LitestreamMonitor(config.litestreamMetricsUrl, metrics) : undefined;
    litestream?.start();
    return { writer, ingester, litestream };
  }
}
