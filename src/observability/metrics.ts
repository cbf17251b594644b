import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the service exports, created once per process (tests make their own
 * registry, so two services in one process never collide).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'feedgen_process_' });
  const registers = [registry];

  return {
    registry,
    ingestEvents: new Counter({
      name: 'feedgen_ingest_events_total',
      help: 'Jetstream frames by kind and outcome (stored, duplicate, rejected, ignored)',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    ingestRejections: new Counter({
      name: 'feedgen_ingest_rejections_total',
      help: 'Rejected Jetstream frames by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    ingestBatches: new Counter({
      name: 'feedgen_ingest_batches_total',
      help: 'Committed ingest transactions',
      registers,
    }),
    ingestWriteErrors: new Counter({
      name: 'feedgen_ingest_write_errors_total',
      help: 'Ingest transactions that failed and will be retried',
      registers,
    }),
    ingestPaused: new Gauge({
      name: 'feedgen_ingest_paused',
      help: '1 while ingest is paused: writes fail (a full disk), or the disk guard holds it (DISK_GUARD_PERCENT)',
      registers,
    }),
    ingestPauses: new Counter({
      name: 'feedgen_ingest_pauses_total',
      help: 'Times ingest paused, by reason (disk_guard: the data volume past DISK_GUARD_PERCENT; write_failed)',
      labelNames: ['reason'] as const,
      registers,
    }),
    dataVolumeUsedRatio: new Gauge({
      name: 'feedgen_data_volume_used_ratio',
      help: "Share of the data volume in use (the database, its WAL and Litestream's shadow WAL live there)",
      registers,
    }),
    ingestCursorTimeUs: new Gauge({
      name: 'feedgen_ingest_cursor_time_us',
      help: 'Committed Jetstream cursor (time_us)',
      registers,
    }),
    ingestLagSeconds: new Gauge({
      name: 'feedgen_ingest_lag_seconds',
      help: 'Now minus the time_us of the newest event read as of the last commit, recomputed every second: it grows while ingest is paused or disconnected',
      registers,
    }),
    jetstreamConnections: new Counter({
      name: 'feedgen_jetstream_connections_total',
      help: 'Jetstream connections opened, by host',
      labelNames: ['host'] as const,
      registers,
    }),
    jetstreamConnected: new Gauge({
      name: 'feedgen_jetstream_connected',
      help: '1 while a Jetstream connection is open',
      registers,
    }),
    likes: new Gauge({
      name: 'feedgen_likes',
      help: 'Live likes in the retention window',
      registers,
    }),
    pruned: new Counter({
      name: 'feedgen_pruned_rows_total',
      help: 'Rows removed by retention, by table',
      labelNames: ['table'] as const,
      registers,
    }),
    dbBytes: new Gauge({
      name: 'feedgen_db_bytes',
      help: 'Size of the SQLite database file',
      registers,
    }),
    graphLikes: new Gauge({
      name: 'feedgen_graph_likes',
      help: 'Live likes held by the in-memory like graph',
      registers,
    }),
    graphPosts: new Gauge({
      name: 'feedgen_graph_posts',
      help: 'Posts held by the in-memory like graph (those with live likes)',
      registers,
    }),
    graphBytes: new Gauge({
      name: 'feedgen_graph_bytes',
      help: 'Bytes of typed arrays held by the like graph',
      registers,
    }),
    graphMemoryBudgetBytes: new Gauge({
      name: 'feedgen_graph_memory_budget_bytes',
      help: "The most the like graph's typed arrays may hold (GRAPH_MEMORY_MB), compactions included",
      registers,
    }),
    graphMemoryFloorLikeId: new Gauge({
      name: 'feedgen_graph_memory_floor_like_id',
      help: 'Likes at or below this id were dropped from the like graph to stay under its memory budget (0: none)',
      registers,
    }),
    graphLikesDropped: new Counter({
      name: 'feedgen_graph_likes_dropped_total',
      help: 'Live likes dropped from the like graph (the oldest first) to stay under its memory budget; the database keeps them',
      registers,
    }),
    graphLikesLeftOut: new Gauge({
      name: 'feedgen_graph_likes_left_out',
      help: 'Live likes of the retention window the like graph does not hold (dropped for memory, or not read yet)',
      registers,
    }),
    graphOldestLikeTimeSeconds: new Gauge({
      name: 'feedgen_graph_oldest_like_time_seconds',
      help: 'Time (Unix seconds) of the oldest like the like graph holds',
      registers,
    }),
    graphReady: new Gauge({
      name: 'feedgen_graph_ready',
      help: '1 once the like graph has loaded the database',
      registers,
    }),
    graphLoads: new Counter({
      name: 'feedgen_graph_loads_total',
      help: 'Loads of the like graph: from its snapshot file, or from the whole likes table and why the snapshot was not used',
      labelNames: ['from', 'reason'] as const,
      registers,
    }),
    rankerPreset: new Gauge({
      name: 'feedgen_ranker_preset',
      help: '1 for the ranker preset in use',
      labelNames: ['preset'] as const,
      registers,
    }),
    rankerPresetSwitches: new Counter({
      name: 'feedgen_ranker_preset_switches_total',
      help: 'Automatic switches of the ranker preset, by the preset switched to',
      labelNames: ['to'] as const,
      registers,
    }),
    feedRankings: new Counter({
      name: 'feedgen_feed_rankings_total',
      help: 'First pages ranked afresh, by source: a preset, <preset>+follows (cold start from follows), or popular',
      labelNames: ['source'] as const,
      registers,
    }),
    followsFetches: new Counter({
      name: 'feedgen_follows_fetches_total',
      help: 'getFollows fetches from the AppView by outcome (ok, timeout, network, http_error, malformed; busy: refused, too many in flight)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    followsLookups: new Counter({
      name: 'feedgen_follows_lookups_total',
      help: 'Follows looked up for a first page: cached, failure_cached (a recent failure, not asked again), fetched',
      labelNames: ['result'] as const,
      registers,
    }),
    followsCachedUsers: new Gauge({
      name: 'feedgen_follows_cached_users',
      help: 'Users whose follows the follows cache holds (fresh or not)',
      registers,
    }),
    feedRequestSeconds: new Histogram({
      name: 'feedgen_feed_request_seconds',
      help: 'getFeedSkeleton requests served here (not replayed), from arrival to the last byte',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    authRejections: new Counter({
      name: 'feedgen_auth_rejections_total',
      help: 'Refused service JWTs by error name; FailedAuthLimited: refused unread, the address spent its failed sign-ins',
      labelNames: ['error'] as const,
      registers,
    }),
    flyReplays: new Counter({
      name: 'feedgen_fly_replays_total',
      help: 'Requests a replica handed to the primary region with fly-replay, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    replicaStaleReads: new Counter({
      name: 'feedgen_replica_stale_reads_total',
      help: 'Feed requests a replica served although it would have replayed them (already replayed, or no primary region), by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    writerHeapBytes: new Gauge({
      name: 'feedgen_writer_heap_bytes',
      help: "The writer thread's V8 heap, used and total (feedgen_process_nodejs_heap_* is the main thread's only)",
      labelNames: ['kind'] as const,
      registers,
    }),
    walBytes: new Gauge({
      name: 'feedgen_wal_bytes',
      help: 'Size of the SQLite write-ahead log',
      registers,
    }),
    replicaLagSeconds: new Gauge({
      name: 'feedgen_replica_lag_seconds',
      help: "Replica: seconds since the primary's heartbeat as the local copy holds it (-1 before the first)",
      registers,
    }),
    replicaAppliedBytes: new Counter({
      name: 'feedgen_replica_applied_bytes_total',
      help: 'Replica: WAL bytes applied from the bucket',
      registers,
    }),
    replicaApplySeconds: new Histogram({
      name: 'feedgen_replica_apply_seconds',
      help: 'Replica: time to check and write one WAL segment (the event loop is held meanwhile)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    replicaStoreRequests: new Gauge({
      name: 'feedgen_replica_store_requests',
      help: 'Replica: requests the follower made to the object store since start, by billing class',
      labelNames: ['class'] as const,
      registers,
    }),
    replicaPolls: new Counter({
      name: 'feedgen_replica_polls_total',
      help: 'Replica: follower polls by outcome (applied, nothing_new, a restore and why, or the reason one failed)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    replicaFollowErrors: new Counter({
      name: 'feedgen_replica_follow_errors_total',
      help: 'Replica: follower polls that failed (the bucket unreachable, a damaged segment)',
      registers,
    }),
    litestreamUp: new Gauge({
      name: 'feedgen_litestream_up',
      help: "1 when Litestream's metrics endpoint answered the last poll (primary under the launcher only)",
      registers,
    }),
    litestreamRestarts: new Counter({
      name: 'feedgen_litestream_restarts_total',
      help: 'Litestream processes seen starting after the first (the launcher restarted one that died, or one whose generation lost its snapshots)',
      registers,
    }),
    litestreamSyncErrors: new Gauge({
      name: 'feedgen_litestream_sync_errors',
      help: "Litestream's failed WAL syncs and checkpoints since it started",
      labelNames: ['kind'] as const,
      registers,
    }),
    litestreamShadowWalBytes: new Gauge({
      name: 'feedgen_litestream_shadow_wal_bytes',
      help: "Bytes in Litestream's shadow WAL folder: WAL not yet uploaded to the replica (grows while the object store is unreachable)",
      registers,
    }),
    litestreamReplicaStalledSeconds: new Gauge({
      name: 'feedgen_litestream_replica_stalled_seconds',
      help: "Seconds since the replica's WAL position last advanced (the heartbeat moves it every second while uploads succeed)",
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
