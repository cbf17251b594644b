import type { RequestHandler } from 'express';
import type { AppContext } from '../../roles/context.js';
import type { CurrentFeed } from '../../feed/current-feed.js';
import type { ReplicaStatus } from '../../replication/follower/replica-status.js';

/**
 * Liveness: answers while the process serves, with what it is, how far behind its copy
 * is (0 on the primary, null before a replica's first heartbeat), whether it can serve
 * feeds (the graph loaded and, on a replica, caught up with the primary once), and how
 * old the newest event in the database it serves is: a primary whose ingest stalls (a
 * full disk, Jetstream gone) keeps its heartbeat, so replicas' lag alone would not say so;
 * why the primary's ingest is paused, if it is (`disk_guard`, `write_failed`); and on a
 * replica, its newest fresh restore and why (`restored_past_damage`, `new_generation`...).
 */
export function healthRoute(ctx: AppContext, feed: CurrentFeed, replica: ReplicaStatus | undefined, ingestPaused = (): string | undefined => undefined): RequestHandler {
  const { role, region } = ctx.config;
  return (_req, res) => {
    const lagSeconds = role === 'primary' ? 0 : replica?.lagSeconds();
    const caughtUp = role === 'primary' || (replica?.caughtUp() ?? false);
    res.json({
      version: ctx.version,
      role,
      region: region ?? null,
      ready: feed.isReady && caughtUp,
      lag_seconds: millisecondsOrNull(lagSeconds),
      ingest_lag_seconds: millisecondsOrNull(feed.get()?.ingestLagSeconds(ctx.clock())),
      ingest_paused: ingestPaused() ?? null,
      ...(role === 'replica' ? { last_restore: lastRestoreOf(replica, ctx.clock()) } : {}),
    });
  };
}

/** A replica's newest fresh restore (a damaged segment restored past, a new generation...) and how long ago; null if none. */
function lastRestoreOf(replica: ReplicaStatus | undefined, nowMs: number): { reason: string; seconds_ago: number } | null {
  const restore = replica?.lastRestore();
  return restore ? { reason: restore.reason, seconds_ago: Math.max(0, Math.round((nowMs - restore.atMs) / 1000)) } : null;
}

/** Seconds rounded to the millisecond; null (JSON has no undefined) when not known. */
function millisecondsOrNull(seconds: number | undefined): number | null {
  return seconds === undefined ? null : Math.round(seconds * 1000) / 1000;
}
