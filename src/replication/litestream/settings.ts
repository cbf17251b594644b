import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Env, EnvReader } from '../../config/env.js';
import type { ReplicaTarget } from '../bucket/replica-target.js';

/**
 * Where and how Litestream replicates, read from the environment. litestream.yml names
 * these as ${VARS}; `litestreamEnv` fills them in, so the file stays the one source of
 * Litestream's shape and this module the one source of its defaults.
 */
export interface LitestreamSettings {
  /** litestream.yml at the project's top level. */
  configPath: string;
  /** The database Litestream replicates (the service's `$DATA_DIR/feed.db`). */
  dbPath: string;
  replica: ReplicaTarget;
  /** Go durations, as Litestream reads them. */
  syncInterval: string;
  snapshotInterval: string;
  retention: string;
  /** WAL pages past which Litestream checkpoints (PASSIVE); each checkpoint starts a new WAL index. */
  minCheckpointPages: number;
  /** host:port of Litestream's Prometheus endpoint; empty (LITESTREAM_METRICS_ADDR=off) turns it off. */
  metricsAddr: string;
  /** How often the launcher checks that the replica holds a snapshot of the current generation (0: never). */
  snapshotCheckMs: number;
  /** The environment these were read from: the S3 names and keys Litestream expands. */
  env: Env;
}

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const LITESTREAM_CONFIG = path.join(PROJECT_ROOT, 'litestream.yml');

/** A Go `time.ParseDuration` string with a unit, e.g. `1s`, `1h30m`. */
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Settings from the environment; problems go to `read` so they are reported with the rest. */
export function readLitestreamSettings(env: Env, dataDir: string, read = new EnvReader(env)): LitestreamSettings {
  const bucket = read.optionalString('BUCKET_NAME');
  const duration = (name: string, fallback: string) => {
    const value = read.string(name, fallback);
    if (!GO_DURATION.test(value)) read.problems.push(`${name}=${JSON.stringify(value)} is not a duration such as 1s, 30m or 24h`);
    return value;
  };
  const settings: LitestreamSettings = {
    configPath: read.string('LITESTREAM_CONFIG', LITESTREAM_CONFIG),
    dbPath: path.join(dataDir, 'feed.db'),
    replica: bucket
      ? { type: 's3', bucket, prefix: read.string('LITESTREAM_PATH', 'feedgen'), endpoint: read.optionalString('AWS_ENDPOINT_URL_S3') }
      : { type: 'file', folder: path.resolve(read.string('LITESTREAM_REPLICA_DIR', path.join(dataDir, 'litestream-replica'))) },
    syncInterval: duration('LITESTREAM_SYNC_INTERVAL', '1s'),
    // A snapshot is the whole database: at the firehose's rate an hourly one keeps 73 copies
    // of it for the 72 h of retention (bench:scale). A day keeps 4; a restore replays at
    // most a day of WAL (about a minute, bench:restore).
    snapshotInterval: duration('LITESTREAM_SNAPSHOT_INTERVAL', '24h'),
    retention: duration('LITESTREAM_RETENTION', '72h'),
    // 8,000 pages (8 MB at a new database's 1 KiB pages, 32 MB at 4 KiB) rather than
    // Litestream's 1,000: each checkpoint starts a new WAL index, another object to upload
    // and fetch. At the firehose's ~150 KB of WAL a second (1 KiB pages) that is about a minute.
    minCheckpointPages: read.int('LITESTREAM_MIN_CHECKPOINT_PAGES', 8000, 100, 1_000_000),
    metricsAddr: metricsAddr(read.string('LITESTREAM_METRICS_ADDR', '127.0.0.1:9090')),
    snapshotCheckMs: read.int('LITESTREAM_SNAPSHOT_CHECK_MS', 60_000, 0, 86_400_000),
    env,
  };
  return settings;
}

function metricsAddr(value: string): string {
  return value === 'off' ? '' : value;
}

/** The environment for the litestream binary: the settings' own, plus what litestream.yml expands. */
export function litestreamEnv(settings: LitestreamSettings): Record<string, string> {
  const { replica } = settings;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.env)) if (value !== undefined) out[name] = value;
  Object.assign(out, {
    DATA_DIR: path.dirname(settings.dbPath),
    LITESTREAM_REPLICA_TYPE: replica.type,
    LITESTREAM_REPLICA_PATH: replica.type === 's3' ? replica.prefix : replica.folder,
    LITESTREAM_SYNC_INTERVAL: settings.syncInterval,
    LITESTREAM_SNAPSHOT_INTERVAL: settings.snapshotInterval,
    LITESTREAM_RETENTION: settings.retention,
    LITESTREAM_MIN_CHECKPOINT_PAGES: String(settings.minCheckpointPages),
    // Litestream restarts the WAL (a forced checkpoint) past this: well above the minimum.
    LITESTREAM_MAX_CHECKPOINT_PAGES: String(settings.minCheckpointPages * 3),
    LITESTREAM_METRICS_ADDR: settings.metricsAddr,
  });
  // Unset names would expand to "" and read as "no endpoint": fine for AWS itself.
  for (const name of ['BUCKET_NAME', 'AWS_ENDPOINT_URL_S3', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    out[name] ??= '';
  }
  return out;
}

/** Where the replica is, for logs: `s3://bucket/prefix (endpoint)` or a folder. */
export function describeReplica(settings: LitestreamSettings): string {
  const { replica } = settings;
  if (replica.type === 'file') return replica.folder;
  return `s3://${replica.bucket}/${replica.prefix}${replica.endpoint ? ` at ${replica.endpoint}` : ''}`;
}
