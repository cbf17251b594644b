import type { Server } from 'node:http';
import type { Config } from './config/config.js';
import type { AppContext } from './context.js';
import { type Database, openWriter } from './db/database.js';
import { EventWriter } from './db/event-writer.js';
import { Housekeeping } from './db/housekeeping.js';
import { Pruner } from './db/pruner.js';
import { createHttpApp, listen } from './http/server.js';
import { Ingester } from './ingest/ingester.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { VERSION } from './version.js';

export interface ServiceOverrides {
  log?: Logger;
  /** Bind address; tests use 127.0.0.1. */
  host?: string;
}

/** The primary's writing parts: present only where this process owns the database. */
interface PrimaryParts {
  db: Database;
  writer: EventWriter;
  ingester: Ingester;
  housekeeping: Housekeeping;
}

/**
 * The whole service: create (wire), start (open, listen, ingest), stop (in the
 * reverse order, flushing the last batch before the database closes).
 */
export class FeedService {
  private server: Server | undefined;
  private primary: PrimaryParts | undefined;

  private constructor(
    readonly ctx: AppContext,
    private readonly host: string | undefined,
  ) {}

  static create(config: Config, overrides: ServiceOverrides = {}): FeedService {
    const log = overrides.log ?? createLogger(config.logLevel, { role: config.role, region: config.region });
    const ctx: AppContext = { config, version: VERSION, log, metrics: createMetrics() };
    return new FeedService(ctx, overrides.host);
  }

  async start(): Promise<void> {
    const { config, log } = this.ctx;
    if (config.role === 'primary') this.primary = this.openPrimary();
    this.server = await listen(createHttpApp(this.ctx), config.port, this.host);
    this.primary?.ingester.start();
    this.primary?.housekeeping.start();
    log.info({ port: this.port(), dbPath: config.dbPath, role: config.role, version: this.ctx.version }, 'service started');
  }

  /** The port actually bound (PORT=0 picks a free one). */
  port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.ctx.config.port;
  }

  async stop(): Promise<void> {
    const { log } = this.ctx;
    if (this.primary) {
      await this.primary.ingester.stop();
      this.primary.housekeeping.stop();
    }
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.primary?.db.close();
    log.info('service stopped');
  }

  private openPrimary(): PrimaryParts {
    const { config, metrics, log } = this.ctx;
    const db = openWriter(config.dbPath, config.db);
    const writer = new EventWriter(db);
    metrics.likes.set(writer.liveLikeCount());
    return {
      db,
      writer,
      ingester: new Ingester({ config: config.ingest, writer, metrics, log }),
      housekeeping: new Housekeeping({ retention: config.retention, writer, pruner: new Pruner(db, writer), metrics, log }),
    };
  }
}
