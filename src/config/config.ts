import path from 'node:path';
import { isValidHandle } from '@atproto/syntax';
import { isDid, isRecordKey } from '../atproto/identifiers.js';
import { readLitestreamSettings, type LitestreamSettings } from '../replication/litestream/settings.js';
import { type Env, EnvReader } from './env.js';
import { machineMemoryBytes } from './machine-memory.js';

/** The ranker reads a user's newest 2,000 interactions (src/feed/feed-lookup.ts): the rest is headroom. */
export const DEFAULT_INTERACTIONS_PER_USER = 5000;

/** Deployment configuration, read once at start. Ranker knobs live apart (see ranker params). */
export interface Config {
  role: 'primary' | 'replica';
  /** Fly region of this machine and of the primary (both undefined off Fly). */
  region: string | undefined;
  primaryRegion: string | undefined;
  /** On a replica, reads are replayed to the primary when its copy is older than this. */
  maxReplicaLagSeconds: number;
  port: number;
  /** HTTP bind address. */
  host: string;
  /** When set, `/metrics` is served on this port only, not on the public one. */
  metricsPort: number | undefined;
  /** Set by the launcher for the service it runs beside `litestream replicate`. */
  underLitestream: boolean;
  dataDir: string;
  dbPath: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Fly app name (Fly sets it on every machine); the status page finds its peers through it. */
  flyAppName: string | undefined;
  /** Base URLs of the machines the status page lists; undefined means discover them on Fly. */
  statusPeers: string[] | undefined;
  /** Litestream's Prometheus endpoint when the launcher runs the service beside it. */
  litestreamMetricsUrl: string | undefined;
  /** Where Litestream replicates (primary) and what a replica follows. */
  litestream: LitestreamSettings;
  replica: {
    /** Wait between follower polls that found nothing new. */
    pollMs: number;
    /** Nothing new for this long: look for a new generation or a retention gap. */
    stallMs: number;
  };
  db: {
    busyTimeoutMs: number;
    /** Pages; 0 turns automatic checkpoints off (Litestream owns them). */
    walAutocheckpointPages: number;
  };
  ingest: {
    /** Jetstream `/subscribe` endpoints in fail-over order. */
    jetstreamUrls: string[];
    rewindSeconds: number;
    maxFrameBytes: number;
    batchMaxEvents: number;
    batchMaxWaitMs: number;
    /** Idle time the writer leaves between transactions so checkpoints can take the lock. */
    writerPauseMs: number;
    reconnectMinMs: number;
    reconnectMaxMs: number;
    /** A connection that sends nothing for this long is treated as dead. */
    stallTimeoutMs: number;
    /**
     * Ingest pauses while the data volume is fuller than this (percent; 100: never), so
     * that a bucket outage growing Litestream's shadow WAL never fills the disk.
     */
    diskGuardPercent: number;
  };
  retention: {
    days: number;
    pruneBatchRows: number;
    pruneIntervalMs: number;
    /** sendInteractions rows kept per user, newest first. */
    interactionsPerUser: number;
  };
  feedgen: {
    /** Public hostname of this service (did:web and the feed record point here). */
    hostname: string;
    /** The service's DID: the `aud` of the JWTs the AppView sends. */
    serviceDid: string;
    /** The account that publishes the feed records. */
    publisherDid: string;
    /** Record keys of the `app.bsky.feed.generator` records served here. */
    feedRkeys: string[];
    /** PLC directory used to resolve did:plc (trusted, even on a private address). */
    plcUrl: string;
    /** Identity service answering com.atproto.identity.resolveHandle (the playground's handles). */
    handleResolverUrl: string;
    /** Shown by describeFeedGenerator when set. */
    privacyPolicyUrl: string | undefined;
    termsOfServiceUrl: string | undefined;
  };
  feed: {
    /** How often the like graph reads new rows from the database. */
    graphPollMs: number;
    popularRefreshMs: number;
    /** How long a request's ranked list stays for its next pages, and how many are kept. */
    pageTtlMs: number;
    pageCacheMax: number;
    /** Ranking latency budget (p95); above it the cheap preset takes over. */
    latencyBudgetMs: number;
    /** The most the like graph's typed arrays may hold; past it the graph keeps the newest likes that fit. */
    graphMemoryBytes: number;
    /** How often the like graph is saved beside the database for the next start (and once after a load from the table); 0: never saved nor read. */
    graphSnapshotIntervalMs: number;
    /** Cold start from follows: users with few likes get what the accounts they follow like. */
    follows: FollowsConfig;
  };
}

export interface FollowsConfig {
  /** The AppView answering app.bsky.graph.getFollows; undefined turns follows off. */
  appviewUrl: string | undefined;
  /** A first page waits this long at most for the user's follows (every page of them). */
  timeoutMs: number;
  /** Follows read per user at most. */
  maxFollows: number;
  /** Users whose follows are kept, the least recently used dropped first. */
  cacheUsers: number;
  /** How long fetched follows are trusted (the primary also follows Jetstream's follow records). */
  ttlMs: number;
  /** How long a failed fetch is remembered (and the popular list served without asking again). */
  failureTtlMs: number;
}

/** The public AppView, which answers getFollows without authentication. */
export const DEFAULT_APPVIEW_URL = 'https://public.api.bsky.app';
/** FOLLOWS_APPVIEW_URL's value that turns follows off (an empty value means the default). */
const FOLLOWS_OFF = 'off';

/** What configFromEnv reads of the machine itself (tests pass their own). */
export interface MachineFacts {
  /** The cgroup limit when one is set, else the machine's RAM. */
  memoryBytes: number;
}

/** GRAPH_MEMORY_MB counts mebibytes, as cgroups and Fly's memory_mb do. */
export const MB = 2 ** 20;
/** The graph's default share of the machine: the rest is V8's heap, SQLite's cache, the writer thread. */
export const GRAPH_MEMORY_SHARE = 0.6;

export const DEFAULT_JETSTREAM_URLS = [
  'wss://jetstream.us-east.bsky.network/subscribe',
  'wss://jetstream.us-west.bsky.network/subscribe',
];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Database and writer defaults; each can still be set by its own variable. */
interface DbProfile {
  busyTimeoutMs: number;
  walAutocheckpointPages: number;
  writerPauseMs: number;
}

/** The service on its own: SQLite checkpoints itself. */
const STANDALONE_PROFILE: DbProfile = {
  busyTimeoutMs: 5000,
  // 10,000 pages (40 MB): fewer, larger checkpoints; 1,000 cost ingest 12% (bench:ingest).
  walAutocheckpointPages: 10_000,
  writerPauseMs: 5,
};

/** Beside `litestream replicate` (the primary in production). */
const LITESTREAM_PROFILE: DbProfile = {
  // Litestream's checkpoints hold the write lock for seconds on a large file (a RESTART
  // copies up to 40 MB of scattered pages): the writer waits for them rather than fail...
  busyTimeoutMs: 30_000,
  // Litestream owns checkpoints: SQLite's own would race its WAL copy.
  walAutocheckpointPages: 0,
  // ...and leaves gaps long enough for Litestream's own 1 s busy wait to get the lock
  // (SQLite's busy handler retries after 1, 2, 5, 10 ... 100 ms sleeps).
  writerPauseMs: 50,
};

export function configFromEnv(env: Env, machine: MachineFacts = { memoryBytes: machineMemoryBytes() }): Config {
  const read = new EnvReader(env);
  const machineMb = Math.floor(machine.memoryBytes / MB);

  const region = read.optionalString('FLY_REGION');
  const primaryRegion = read.optionalString('PRIMARY_REGION');
  // On Fly the region decides; ROLE overrides it for local runs.
  const derivedRole = region && primaryRegion && region !== primaryRegion ? 'replica' : 'primary';
  const role = read.oneOf('ROLE', ['primary', 'replica'], derivedRole);

  const dataDir = path.resolve(read.string('DATA_DIR', './data'));
  const jetstreamUrls = parseJetstreamUrls(read.string('JETSTREAM_URL', DEFAULT_JETSTREAM_URLS.join(',')), read.problems);

  const flyAppName = read.optionalString('FLY_APP_NAME');
  // On Fly the AppView reaches the app at <app>.fly.dev unless a custom domain is set.
  const hostname = read.string('FEEDGEN_HOSTNAME', flyAppName ? `${flyAppName}.fly.dev` : 'localhost');
  const underLitestream = read.oneOf('UNDER_LITESTREAM', ['0', '1'], '0') === '1';
  const profile = underLitestream ? LITESTREAM_PROFILE : STANDALONE_PROFILE;
  const feedRkeys = read.string('FEEDGEN_FEED_RKEYS', 'for-you').split(',').map((k) => k.trim()).filter((k) => k !== '');

  const config: Config = {
    role,
    region,
    primaryRegion,
    // The heartbeat moves every second and Litestream uploads every second: a healthy copy is 1-3 s behind.
    maxReplicaLagSeconds: read.number('MAX_REPLICA_LAG', 10, 1, 86_400),
    port: read.int('PORT', 3000, 0, 65535),
    host: read.string('HOST', '::'),
    metricsPort: read.optionalInt('METRICS_PORT', 1, 65535),
    underLitestream,
    dataDir,
    dbPath: path.join(dataDir, 'feed.db'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    flyAppName,
    statusPeers: parseStatusPeers(read.optionalString('STATUS_PEERS'), read.problems),
    litestreamMetricsUrl: read.optionalString('LITESTREAM_METRICS_URL'),
    litestream: readLitestreamSettings(env, dataDir, read),
    replica: {
      pollMs: read.int('REPLICA_POLL_MS', 1000, 50, 60_000),
      stallMs: read.int('REPLICA_STALL_MS', 3000, 1000, 3_600_000),
    },
    db: {
      busyTimeoutMs: read.int('SQLITE_BUSY_TIMEOUT_MS', profile.busyTimeoutMs, 0, 600_000),
      walAutocheckpointPages: read.int('SQLITE_WAL_AUTOCHECKPOINT', profile.walAutocheckpointPages, 0, 10_000_000),
    },
    ingest: {
      jetstreamUrls,
      rewindSeconds: read.number('JETSTREAM_REWIND_SECONDS', 5, 0, 3600),
      maxFrameBytes: read.int('INGEST_MAX_FRAME_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
      batchMaxEvents: read.int('INGEST_BATCH_SIZE', 10_000, 1, 1_000_000),
      batchMaxWaitMs: read.int('INGEST_BATCH_WAIT_MS', 200, 1, 60_000),
      writerPauseMs: read.int('INGEST_WRITER_PAUSE_MS', profile.writerPauseMs, 0, 10_000),
      reconnectMinMs: read.int('JETSTREAM_RECONNECT_MIN_MS', 500, 1, 600_000),
      reconnectMaxMs: read.int('JETSTREAM_RECONNECT_MAX_MS', 30_000, 1, 3_600_000),
      stallTimeoutMs: read.int('JETSTREAM_STALL_TIMEOUT_MS', 30_000, 100, 3_600_000),
      diskGuardPercent: read.int('DISK_GUARD_PERCENT', 90, 1, 100),
    },
    retention: {
      days: read.number('RETENTION_DAYS', 90, 0.001, 3650),
      pruneBatchRows: read.int('PRUNE_BATCH_ROWS', 2000, 1, 1_000_000),
      pruneIntervalMs: read.int('PRUNE_INTERVAL_MS', 1000, 10, 3_600_000),
      interactionsPerUser: read.int('INTERACTIONS_PER_USER', DEFAULT_INTERACTIONS_PER_USER, 100, 10_000_000),
    },
    feedgen: {
      hostname,
      serviceDid: read.string('FEEDGEN_SERVICE_DID', `did:web:${hostname}`),
      // On Fly the feed is public: a record published under a made-up DID would point nowhere.
      publisherDid: flyAppName ? read.requiredString('FEEDGEN_PUBLISHER_DID', 'on Fly (FLY_APP_NAME is set): the DID of the account that publishes the feed') : read.string('FEEDGEN_PUBLISHER_DID', `did:web:${hostname}`),
      feedRkeys,
      plcUrl: read.string('PLC_URL', 'https://plc.directory'),
      handleResolverUrl: read.string('HANDLE_RESOLVER_URL', 'https://public.api.bsky.app'),
      privacyPolicyUrl: read.optionalString('FEEDGEN_PRIVACY_POLICY_URL'),
      termsOfServiceUrl: read.optionalString('FEEDGEN_TERMS_OF_SERVICE_URL'),
    },
    feed: {
      graphPollMs: read.int('GRAPH_POLL_MS', 500, 10, 60_000),
      popularRefreshMs: read.int('POPULAR_REFRESH_MS', 30_000, 100, 3_600_000),
      pageTtlMs: read.int('FEED_PAGE_TTL_MS', 300_000, 1000, 3_600_000),
      pageCacheMax: read.int('FEED_PAGE_CACHE_MAX', 10_000, 10, 1_000_000),
      latencyBudgetMs: read.int('FEED_LATENCY_BUDGET_MS', 50, 1, 60_000),
      graphMemoryBytes: read.int('GRAPH_MEMORY_MB', Math.max(1, Math.floor(machineMb * GRAPH_MEMORY_SHARE)), 1, 2 ** 32) * MB,
      graphSnapshotIntervalMs: read.int('GRAPH_SNAPSHOT_INTERVAL_S', 600, 0, 7 * 86_400) * 1000,
      follows: readFollows(read),
    },
  };
  checkFeedgen(config.feedgen, read.problems);
  // SQLite's own checkpoints would race Litestream's copy of the WAL: under it, only 0 will do.
  if (underLitestream && config.db.walAutocheckpointPages !== 0) {
    read.problems.push('SQLITE_WAL_AUTOCHECKPOINT must be 0 under Litestream (UNDER_LITESTREAM=1): Litestream owns checkpoints');
  }
  if (config.metricsPort !== undefined && config.metricsPort === config.port) {
    read.problems.push(`METRICS_PORT=${config.metricsPort} is PORT too: /metrics needs a port of its own, or leave METRICS_PORT unset`);
  }
  // A budget the machine cannot hold is no budget: the kernel kills the process first.
  if (config.feed.graphMemoryBytes > machine.memoryBytes) {
    read.problems.push(`GRAPH_MEMORY_MB=${config.feed.graphMemoryBytes / MB} is more than this machine's memory (${machineMb} MB, its cgroup limit or RAM)`);
  }
  if (config.ingest.reconnectMinMs > config.ingest.reconnectMaxMs) {
    read.problems.push('JETSTREAM_RECONNECT_MIN_MS must not exceed JETSTREAM_RECONNECT_MAX_MS');
  }
  read.check();
  return config;
}

function checkFeedgen(feedgen: Config['feedgen'], problems: string[]): void {
  if (!isValidHandle(feedgen.hostname) && feedgen.hostname !== 'localhost' && !/^localhost:\d+$/.test(feedgen.hostname)) {
    problems.push(`FEEDGEN_HOSTNAME=${JSON.stringify(feedgen.hostname)} is not a hostname`);
  }
  if (!isDid(feedgen.serviceDid)) problems.push(`FEEDGEN_SERVICE_DID=${JSON.stringify(feedgen.serviceDid)} is not a DID`);
  if (!isDid(feedgen.publisherDid)) problems.push(`FEEDGEN_PUBLISHER_DID=${JSON.stringify(feedgen.publisherDid)} is not a DID`);
  if (feedgen.feedRkeys.length === 0) problems.push('FEEDGEN_FEED_RKEYS lists no record key');
  for (const rkey of feedgen.feedRkeys) {
    if (!isRecordKey(rkey)) problems.push(`FEEDGEN_FEED_RKEYS entry ${JSON.stringify(rkey)} is not a record key`);
  }
  checkHttpUrl('PLC_URL', feedgen.plcUrl, problems);
  checkHttpUrl('HANDLE_RESOLVER_URL', feedgen.handleResolverUrl, problems);
  if (feedgen.privacyPolicyUrl !== undefined) checkHttpUrl('FEEDGEN_PRIVACY_POLICY_URL', feedgen.privacyPolicyUrl, problems);
  if (feedgen.termsOfServiceUrl !== undefined) checkHttpUrl('FEEDGEN_TERMS_OF_SERVICE_URL', feedgen.termsOfServiceUrl, problems);
}

function readFollows(read: EnvReader): FollowsConfig {
  const url = read.string('FOLLOWS_APPVIEW_URL', DEFAULT_APPVIEW_URL);
  if (url !== FOLLOWS_OFF) checkHttpUrl('FOLLOWS_APPVIEW_URL', url, read.problems);
  return {
    appviewUrl: url === FOLLOWS_OFF ? undefined : url,
    timeoutMs: read.int('FOLLOWS_TIMEOUT_MS', 2000, 50, 30_000),
    maxFollows: read.int('FOLLOWS_MAX', 200, 1, 10_000),
    cacheUsers: read.int('FOLLOWS_CACHE_USERS', 2000, 1, 1_000_000),
    ttlMs: read.int('FOLLOWS_TTL_S', 1800, 1, 7 * 86_400) * 1000,
    failureTtlMs: read.int('FOLLOWS_FAILURE_TTL_S', 60, 1, 86_400) * 1000,
  };
}

function checkHttpUrl(name: string, value: string, problems: string[]): void {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`${name} must be an http(s) URL`);
  } catch {
    problems.push(`${name}=${JSON.stringify(value)} is not a URL`);
  }
}

/** The status page fetches every peer at each sample: a bounded list. */
export const MAX_STATUS_PEERS = 20;

function parseStatusPeers(raw: string | undefined, problems: string[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const urls = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length > MAX_STATUS_PEERS) problems.push(`STATUS_PEERS lists ${urls.length} URLs, more than ${MAX_STATUS_PEERS}`);
  for (const url of urls) checkHttpUrl('STATUS_PEERS', url, problems);
  return urls;
}

function parseJetstreamUrls(raw: string, problems: string[]): string[] {
  const urls = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length === 0) problems.push('JETSTREAM_URL lists no URL');
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      problems.push(`JETSTREAM_URL entry ${JSON.stringify(url)} is not a URL`);
      continue;
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      problems.push(`JETSTREAM_URL entry ${JSON.stringify(url)} must use ws:// or wss://`);
    }
  }
  return urls;
}
