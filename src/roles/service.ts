import type { Server } from 'node:http';
import { ServiceDidResolver } from '../atproto/did-resolver.js';
import { createServiceAuth, type ServiceAuth } from '../atproto/service-auth.js';
import type { Config } from '../config/config.js';
import type { AppContext } from './context.js';
import { WriterThread } from '../ingest/writer/writer-thread.js';
import express, { type Express } from 'express';
import { createHttpApp, listen } from '../http/server.js';
import { Ingester } from '../ingest/ingester.js';
import { LitestreamMonitor } from '../replication/litestream/monitor.js';
import { Follower } from '../replication/follower/follower.js';
import { ReplicaLayout } from '../replication/bucket/layout.js';
import { objectStoreFor } from '../replication/bucket/object-store.js';
import { ServedLog } from '../feed/served-log.js';
import { FeedEngine } from '../feed/feed-engine.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { StatusSampler } from '../status/sampler.js';
import { VERSION } from '../version.js';

export interface ServiceOverrides {
  log?: Logger;
  /** What to do when the service can no longer work (default: exit with status 1). */
  onFatal?: (err: Error) => void;
  /** Bind address; tests use 127.0.0.1. */
  host?: string;
  /** Between status page samples (default 10 s); 0 samples only when a test calls `status.sample()`. */
  statusSampleMs?: number;
}

/** In-flight requests get this long to finish on stop. */
const HTTP_DRAIN_MS = 2000;
/** Between a replica's attempts to find a copy in the bucket. */
const BOOTSTRAP_RETRY_MS = 2000;

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
  private follower: Follower | undefined;
  /** What the HTTP server runs: replaced once a replica's copy is ready. */
  private app!: Express;
  private stopping = false;

  private readonly auth: ServiceAuth;
  /** The status page's memory of the last hour. */
  readonly status: StatusSampler;
  /** The pages this node served; kept across a replica's engine reloads. */
  private readonly served = new ServedLog();

  private constructor(
    readonly ctx: AppContext,
    private readonly host: string | undefined,
    private readonly onFatal: (err: Error) => void,
    statusSampleMs: number | undefined,
  ) {
    this.status = new StatusSampler(ctx, statusSampleMs, () => this.engine?.feedQuality());
    const { serviceDid, plcUrl } = ctx.config.feedgen;
    this.auth = createServiceAuth({ serviceDid, resolver: new ServiceDidResolver({ plcUrl }) });
  }

  static create(config: Config, overrides: ServiceOverrides = {}): FeedService {
    const log = overrides.log ?? createLogger(config.logLevel, { role: config.role, region: config.region });
    const ctx: AppContext = { config, version: VERSION, log, metrics: createMetrics() };
    return new FeedService(ctx, overrides.host, overrides.onFatal ?? (() => process.exit(1)), overrides.statusSampleMs);
  }

  async start(): Promise<void> {
    const { config, log } = this.ctx;
    if (config.role === 'primary') {
      this.primary = await this.openPrimary();
      this.engine = FeedEngine.open(config.dbPath, config, this.ctx.metrics, log, this.served);
    }
    // HTTP answers from the start; a replica's app is rebuilt once its copy exists.
    this.app = this.buildApp();
    const front = express();
    front.use((req, res, next) => this.app(req, res, next));
    this.server = await listen(front, config.port, this.host);
    this.primary?.ingester.start();
    this.status.start();
    if (config.role === 'primary') this.startEngine();
    else this.startReplica();
    log.info({ port: this.port(), dbPath: config.dbPath, role: config.role, version: this.ctx.version }, 'service started');
  }

  private buildApp(): Express {
    const writer = this.primary?.writer;
    return createHttpApp(this.ctx, {
      feed: this.engine,
      verifyUser: this.auth.verify,
      recordInteractions: writer && ((did, interactions) => writer.writeInteractions(did, interactions)),
      replica: this.follower,
      status: this.status,
    });
  }

  /** The graph loads in the background; health says when it is ready. */
  private startEngine(): void {
    this.engine?.start().catch((err: unknown) => {
      if (this.stopping) return; // the database closed under the load: a stop, not a failure
      this.ctx.log.fatal({ err }, 'like graph failed to load');
      this.onFatal(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /**
   * A replica restores (or resumes) its copy from the bucket, retrying until the primary
   * has uploaded a generation, then serves from it while the follower keeps it current.
   */
  private startReplica(): void {
    const { config, metrics, log } = this.ctx;
    const { store, root } = objectStoreFor(config.litestream);
    const follower = new Follower({
      store,
      layout: new ReplicaLayout(root),
      dbPath: config.dbPath,
      log,
      metrics,
      pollMs: config.replica.pollMs,
      stallMs: config.replica.stallMs,
      minCheckpointPages: config.litestream.minCheckpointPages,
      onRestored: () => this.reloadReplicaEngine(),
    });
    this.follower = follower;
    const bootstrap = async () => {
      while (!this.stopping) {
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
      if (!ready || this.stopping) return;
      const engine = FeedEngine.open(config.dbPath, config, metrics, log, this.served);
      this.engine = engine;
      follower.setExclusive((apply) => engine.withDatabaseClosed(apply));
      this.app = this.buildApp();
      this.startEngine();
      follower.start();
    });
  }

  /**
   * A new generation was swapped in (the primary restarted, or was rolled back): its
   * rows may not continue the old ids, so a new like graph loads from it while the old
   * one serves, then takes over.
   */
  private reloadReplicaEngine(): void {
    const { config, metrics, log } = this.ctx;
    const follower = this.follower!;
    const old = this.engine;
    const next = FeedEngine.open(config.dbPath, config, metrics, log, this.served);
    follower.setExclusive((apply) => next.withDatabaseClosed(() => (old ? old.withDatabaseClosed(apply) : apply())));
    next.start().then(
      () => {
        if (this.stopping) return next.stop();
        this.engine = next;
        follower.setExclusive((apply) => next.withDatabaseClosed(apply));
        this.app = this.buildApp();
        old?.stop();
        log.info('replica: like graph reloaded from the new generation');
      },
      (err: unknown) => {
        log.fatal({ err }, 'like graph failed to reload');
        this.onFatal(err instanceof Error ? err : new Error(String(err)));
      },
    );
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
    this.status.stop();
    // HTTP first: no new request, and those under way (a sendInteractions waiting on the
    // writer) finish while the writer still runs.
    await this.closeHttp();
    // Then ingest: its last batch is committed before the writer closes the database.
    await this.primary?.ingester.stop();
    await this.primary?.writer.stop();
    this.primary?.litestream?.stop();
    this.follower?.stop();
    this.engine?.stop();
    log.info('service stopped');
  }

  private async closeHttp(): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = setTimeout(() => server.closeAllConnections(), HTTP_DRAIN_MS);
    await closed;
    clearTimeout(deadline);
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
        onMemory: ({ heapUsedBytes, heapTotalBytes }) => {
          metrics.writerHeapBytes.set({ kind: 'used' }, heapUsedBytes);
          metrics.writerHeapBytes.set({ kind: 'total' }, heapTotalBytes);
        },
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
