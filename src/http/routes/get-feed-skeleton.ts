import { InvalidRequestError, XRPCError } from '@atproto/xrpc-server';
import { ResponseType } from '@atproto/xrpc';
import type { Config } from '../../config/config.js';
import { isAtUri } from '../../atproto/identifiers.js';
import type { CurrentFeed } from '../../feed/current-feed.js';
import { InvalidCursorError } from '../../feed/ranker/pages.js';
import { clientAddress } from '../client-address.js';
import type { VerifyUser } from '../failed-auth-limit.js';
import type { RateLimiter } from '../rate-limit.js';
import { integerParam, singleParam, xrpcRoute } from '../xrpc.js';

export const GET_FEED_SKELETON = 'app.bsky.feed.getFeedSkeleton';
const MAX_FEED_URI_LENGTH = 8192;
const MAX_CURSOR_LENGTH = 256;

export interface FeedRouteDeps {
  feedgen: Config['feedgen'];
  feed: CurrentFeed;
  verifyUser: VerifyUser;
  /** Per signed-in user. */
  limiter: RateLimiter;
  /** Per client address, for requests without a JWT (served from memory, so looser). */
  anonymousLimiter: RateLimiter;
  /** See clientAddress. */
  trustFlyClientIp: boolean;
}

/**
 * `GET /xrpc/app.bsky.feed.getFeedSkeleton`: a page of post URIs for the signed-in
 * user (the JWT's issuer), or the popular list without a JWT.
 */
export function getFeedSkeletonRoute(deps: FeedRouteDeps) {
  const served = new Set(deps.feedgen.feedRkeys.map((rkey) => feedUri(deps.feedgen.publisherDid, rkey)));
  return xrpcRoute(async (req, res) => {
    const feed = singleParam(req, 'feed', MAX_FEED_URI_LENGTH);
    if (feed === undefined) throw new InvalidRequestError('parameter feed is required');
    if (!isAtUri(feed)) throw new InvalidRequestError('parameter feed must be an AT-URI');
    if (!served.has(feed)) throw new InvalidRequestError(`this service does not serve ${feed}`, 'UnknownFeed');
    const limit = integerParam(req, 'limit', 1, 100, 50);
    const cursor = singleParam(req, 'cursor', MAX_CURSOR_LENGTH);

    const userDid = await deps.verifyUser(req, GET_FEED_SKELETON);
    if (userDid) deps.limiter.take(userDid);
    else deps.anonymousLimiter.take(clientAddress(req, deps.trustFlyClientIp));
    const engine = deps.feed.get();
    if (!engine?.isReady) {
      res.setHeader('Retry-After', '5');
      throw new XRPCError(ResponseType.NotEnoughResources, 'the feed is still loading', 'NotReady');
    }
    try {
      // A cold user's first page may wait for their follows, within FOLLOWS_TIMEOUT_MS.
      const page = await engine.ranker.serve({ userDid, limit, cursor });
      res.json({ ...(page.cursor ? { cursor: page.cursor } : {}), feed: page.feed, reqId: page.reqId });
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new InvalidRequestError(err.message);
      throw err;
    }
  });
}

export function feedUri(publisherDid: string, rkey: string): string {
  return `at://${publisherDid}/app.bsky.feed.generator/${rkey}`;
}
