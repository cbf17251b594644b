import type { Request, RequestHandler, Response } from 'express';
import { XRPCError } from '@atproto/xrpc-server';
import { ResponseType } from '@atproto/xrpc';
import type { AppContext } from '../roles/context.js';
import type { ReplicaStatus } from '../replication/follower/replica-status.js';
import { FLY_REPLAY, FLY_REPLAY_FAILED, FLY_REPLAY_SRC, formatFlyReplay } from './fly-headers.js';
import { requestIdOf } from './request-id.js';

/** Why a replica handed a request to the primary: the metric's `reason` and the replay's `state`. */
export type ReplayReason = 'write' | 'not_caught_up' | 'lag_unknown' | 'lag_over_max' | 'feed_not_ready';

/**
 * Fly's proxy replays on the header alone and discards this answer (its docs: a response
 * with only the fly-replay header); 409 is what Fly's own libraries send with it.
 */
const REPLAY_STATUS = 409;
const READ_FALLBACK = { timeout: '2s', fallback: 'force_self' };

/**
 * Replica, before any route or body parser: every request but GET and HEAD goes to the
 * primary region unread (Fly's proxy holds the body and replays it).
 */
export function replayWrites(ctx: AppContext): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    replayToPrimary(ctx, req, res, 'write'); // a refusal it throws goes to the XRPC error handler
  };
}

/**
 * Replica, in front of getFeedSkeleton: a copy that is behind (or not loaded) hands the
 * read to the primary. When it cannot (already replayed here, or no primary region), or
 * when a copy that is merely old says the primary is not serving feeds (stopped, or
 * loading its graph after a restart, when it would answer 503), it serves what it has,
 * counted, rather than fail the feed.
 */
export function replayStaleReads(ctx: AppContext, replica: ReplicaStatus | undefined, feedReady: () => boolean): RequestHandler {
  return (req, res, next) => {
    const reason = staleness(replica, ctx.config.maxReplicaLagSeconds, feedReady());
    if (reason === undefined) return next();
    const primaryCannotServe = reason === 'lag_over_max' && replica?.primaryServesFeeds() === false;
    if (primaryCannotServe || req.headers[FLY_REPLAY_SRC] !== undefined || req.headers[FLY_REPLAY_FAILED] !== undefined || ctx.config.primaryRegion === undefined) {
      ctx.metrics.replicaStaleReads.inc({ reason });
      return next();
    }
    replayToPrimary(ctx, req, res, reason);
  };
}

/** Why this copy should not answer reads, or undefined when it is fresh enough. */
export function staleness(replica: ReplicaStatus | undefined, maxLagSeconds: number, feedReady: boolean): ReplayReason | undefined {
  if (!replica?.caughtUp()) return 'not_caught_up';
  const lag = replica.lagSeconds();
  if (lag === undefined) return 'lag_unknown';
  if (lag > maxLagSeconds) return 'lag_over_max';
  if (!feedReady) return 'feed_not_ready';
  return undefined;
}

/** A request this machine cannot serve now and must not replay: 503, for the caller to retry. */
export function unavailable(name: string, message: string): XRPCError {
  return new XRPCError(ResponseType.NotEnoughResources, message, name);
}

/** Answers with `fly-replay: region=<primary>;state=<reason>`, or throws why it cannot. */
function replayToPrimary(ctx: AppContext, req: Request, res: Response, reason: ReplayReason): void {
  const { region, primaryRegion } = ctx.config;
  const source = req.headers[FLY_REPLAY_SRC];
  // Invariant: a request Fly already replayed is never answered with another fly-replay;
  // Fly's proxy would bounce it between machines until it gives up (error PA02).
  if (source !== undefined) {
    ctx.log.warn({ source, reason, path: req.path, requestId: requestIdOf(res) }, 'replayed request reached a replica; refused');
    throw unavailable(
      'NotPrimary',
      `this machine is a read replica (region ${region ?? 'unset'}) and the request was already replayed here; the primary region ${primaryRegion ?? '(unset)'} did not take it`,
    );
  }
  if (primaryRegion === undefined) {
    throw unavailable('NoPrimaryRegion', 'this machine is a read replica and no primary region is configured (PRIMARY_REGION): it cannot hand the request over');
  }
  ctx.metrics.flyReplays.inc({ reason });
  // A read comes back here if the primary cannot take it (down, restarting): the copy beats an error.
  const fallback = reason === 'write' ? undefined : READ_FALLBACK;
  res.status(REPLAY_STATUS).setHeader(FLY_REPLAY, formatFlyReplay(primaryRegion, reason, fallback)).end();
}
