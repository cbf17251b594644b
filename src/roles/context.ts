import { ServiceDidResolver, type SigningKeyResolver } from '../atproto/did-resolver.js';
import type { Config } from '../config/config.js';
import type { EventSource } from '../ingest/event-source.js';
import type { FollowsCache } from '../feed/follows/follows-cache.js';
import { followsCacheFor } from '../feed/follows/from-config.js';
import { jetstreamSource } from '../ingest/ingester.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { type ObjectStore, objectStoreFor } from '../replication/bucket/object-store.js';
import { openReader, type ReaderDb } from '../store/database.js';
import { VERSION } from '../version.js';

/** Wall-clock milliseconds. */
export type Clock = () => number;

/**
 * What every part of the service may use, built once per process by createContext. The
 * I/O parts are here so that one place picks each implementation and tests swap them.
 */
export interface AppContext {
  config: Config;
  version: string;
  log: Logger;
  metrics: Metrics;
  /** The time the feed ranks at (candidate windows, decay, popular list, signals) and the status page samples at. */
  clock: Clock;
  /** The firehose the primary ingests (it connects only when ingest starts). */
  eventSource: EventSource;
  /** Signing keys of the accounts that send service-auth JWTs. */
  didResolver: SigningKeyResolver;
  /** The bucket (or local folder) Litestream replicates into, and the key prefix in it. */
  bucket: { store: ObjectStore; root: string };
  /** A read-only connection to this node's database (the feed's, a replica's only one). */
  openReader: () => ReaderDb;
  /** Who users follow (cold start), fetched from the AppView; undefined when follows are off. Outlives a replica's engine reloads. */
  follows: FollowsCache | undefined;
}

/** Any part of the context, replaced; what is not given is built from the config. */
export type ContextOverrides = Partial<Omit<AppContext, 'config' | 'version'>>;

export function createContext(config: Config, overrides: ContextOverrides = {}): AppContext {
  const { dbPath, db, feedgen, ingest, litestream, logLevel, role, region } = config;
  const log = overrides.log ?? createLogger(logLevel, { role, region });
  const metrics = overrides.metrics ?? createMetrics();
  return {
    config,
    version: VERSION,
    log,
    metrics,
    clock: overrides.clock ?? Date.now,
    eventSource: overrides.eventSource ?? jetstreamSource(ingest, log),
    didResolver: overrides.didResolver ?? new ServiceDidResolver({ plcUrl: feedgen.plcUrl }),
    bucket: overrides.bucket ?? objectStoreFor(litestream),
    openReader: overrides.openReader ?? (() => openReader(dbPath, db)),
    follows: 'follows' in overrides ? overrides.follows : followsCacheFor(config.feed.follows, metrics),
  };
}
