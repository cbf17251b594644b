import type { RequestHandler } from 'express';
import type { AppContext } from '../../context.js';
import type { FeedEngine } from '../../ranker/feed-engine.js';

/** Liveness: answers while the process serves, with what it is and whether its feed is ready. */
export function healthRoute(ctx: AppContext, feed: FeedEngine | undefined): RequestHandler {
  return (_req, res) => {
    res.json({ version: ctx.version, role: ctx.config.role, region: ctx.config.region ?? null, ready: feed?.isReady ?? false });
  };
}
