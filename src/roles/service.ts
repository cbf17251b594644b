import { createServiceAuth } from '../atproto/service-auth.js';
import type { Config } from '../config/config.js';
import { CurrentFeed } from '../feed/current-feed.js';
import type { FeedEngine } from '../feed/feed-engine.js';
import { ServedLog } from '../feed/served-log.js';
import { StatusSampler } from '../observability/status/sampler.js';
import { type AppContext, type ContextOverrides, createContext } from './context.js';
import type { NodeParts, RunningRole } from './node-parts.js';
import { startPrimary } from './primary.js';
import { startReplica } from './replica.js';

export interface ServiceOverrides extends ContextOverrides {
  /** What to do when the service can no longer work (default: exit with status 1). */
  onFatal?: (err: Error) => void;
  /** Between status page samples (default 10 s); 0 samples only when a test calls `status.sample()`. */
  statusSampleMs?: number;
}

/**
 * The whole service, one role per process: create (the context and the parts both roles
 * share), start (the role's parts in order: roles/primary.ts or roles/replica.ts), stop
 * (the same parts in reverse).
 */
export class FeedService {
  /** The status page's memory of the last hour. */
  readonly status: StatusSampler;
  private readonly parts: NodeParts;
  private running: RunningRole | undefined;

  private constructor(
    readonly ctx: AppContext,
    overrides: ServiceOverrides,
  ) {
    const feed = new CurrentFeed();
    this.status = new StatusSampler(ctx, overrides.statusSampleMs, () => feed.get()?.feedQuality());
    this.parts = {
      feed,
      served: new ServedLog(),
      status: this.status,
      auth: createServiceAuth({ serviceDid: ctx.config.feedgen.serviceDid, resolver: ctx.didResolver }),
      onFatal: overrides.onFatal ?? (() => process.exit(1)),
    };
  }

  static create(config: Config, overrides: ServiceOverrides = {}): FeedService {
    return new FeedService(createContext(config, overrides), overrides);
  }

  async start(): Promise<void> {
    const { config, log, version } = this.ctx;
    this.running = await (config.role === 'primary' ? startPrimary : startReplica)(this.ctx, this.parts);
    log.info({ port: this.port(), dbPath: config.dbPath, role: config.role, underLitestream: config.underLitestream, version }, 'service started');
  }

  /** The engine behind the XRPC routes; undefined until the database exists. */
  get feed(): FeedEngine | undefined {
    return this.parts.feed.get();
  }

  /** The port actually bound (PORT=0 picks a free one). */
  port(): number {
    return this.running?.port() ?? this.ctx.config.port;
  }

  async stop(): Promise<void> {
    await this.running?.stop();
    this.ctx.log.info('service stopped');
  }
}
