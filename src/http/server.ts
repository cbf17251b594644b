import { createServer, type Server } from 'node:http';
import express, { type Express } from 'express';
import type { AppContext } from '../roles/context.js';
import type { CurrentFeed } from '../feed/current-feed.js';
import type { ReplicaStatus } from '../replication/follower/replica-status.js';
import { RateLimiter } from './rate-limit.js';
import { replayStaleReads, replayWrites } from './replay-to-primary.js';
import { describeFeedGeneratorRoute } from './routes/describe-feed-generator.js';
import { didDocumentRoute } from './routes/did-document.js';
import { getFeedSkeletonRoute } from './routes/get-feed-skeleton.js';
import { limitFailedAuth, type VerifyToken } from './failed-auth-limit.js';
import { healthRoute } from './routes/health.js';
import { type SendInteractionsDeps, sendInteractionsRoutes } from './routes/send-interactions.js';
import { metricsRoute } from './routes/metrics.js';
import { playgroundRoute } from './routes/playground.js';
import { HandleResolver } from '../atproto/handle-resolver.js';
import { statusRoute } from './routes/status.js';
import { timeRequests } from './request-timing.js';
import type { StatusSampler } from '../observability/status/sampler.js';
import { requestId } from './request-id.js';
import { xrpcErrorHandler } from './xrpc.js';

export interface HttpDeps {
  /** Read at each request: a replica swaps its engine under the app. */
  feed: CurrentFeed;
  verifyUser: VerifyToken;
  recordInteractions: SendInteractionsDeps['record'];
  /** The follower's view of this replica's copy; undefined on the primary. */
  replica?: ReplicaStatus;
  /** Feeds the status page at `/`; without it there is none. */
  status?: StatusSampler;
  /** Why the primary's ingest is paused (its own state, or as a replica's copy holds it); undefined while it writes. */
  ingestPaused?: () => string | undefined;
}

/** Per client address: each playground page is a ranking, and it is for people, not loops. */
const PLAYGROUND_RATE_LIMIT = { perSecond: 2, burst: 10 };
/** Per requesting user: generous for people, a wall for loops. */
const FEED_RATE_LIMIT = { perSecond: 10, burst: 30 };
/**
 * Per client address, without a JWT: the AppView's few addresses carry every
 * logged-out viewer, and the popular list is served from memory.
 */
const ANONYMOUS_RATE_LIMIT = { perSecond: 200, burst: 400 };
/**
 * Failed sign-ins per client address, before the token is read: a flood of forged
 * tokens with new issuers costs at most this many DID fetches. The AppView's
 * addresses carry every user's tokens, and valid ones never spend from it.
 */
const FAILED_AUTH_RATE_LIMIT = { perSecond: 20, burst: 100 };

/**
 * The HTTP surface: one route per method, wired from the context. Built once per process,
 * so its rate limiters keep their state for the life of the process.
 */
export function createHttpApp(ctx: AppContext, deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId());
  const { feedgen, role } = ctx.config;
  const trustFlyClientIp = ctx.config.region !== undefined;
  const verifyUser = limitFailedAuth({
    verify: deps.verifyUser,
    limiter: new RateLimiter(FAILED_AUTH_RATE_LIMIT),
    trustFlyClientIp,
    rejections: ctx.metrics.authRejections,
  });

  // First, before any body parser: a replica hands every write to the primary unread.
  if (role === 'replica') app.use(replayWrites(ctx));
  app.get('/xrpc/_health', healthRoute(ctx, deps.feed, deps.replica, deps.ingestPaused));
  // With a metrics port of its own, Prometheus' figures stay off the public port.
  if (ctx.config.metricsPort === undefined) app.get('/metrics', metricsRoute(ctx));
  if (deps.status) app.get('/', statusRoute(ctx, deps.status));
  app.get(
    '/playground',
    playgroundRoute({ feed: deps.feed, handles: new HandleResolver(ctx.config.feedgen.handleResolverUrl), limiter: new RateLimiter(PLAYGROUND_RATE_LIMIT), trustFlyClientIp }),
  );
  app.get('/.well-known/did.json', didDocumentRoute(feedgen));
  app.get('/xrpc/app.bsky.feed.describeFeedGenerator', describeFeedGeneratorRoute(feedgen));
  app.get(
    '/xrpc/app.bsky.feed.getFeedSkeleton',
    ...(role === 'replica' ? [replayStaleReads(ctx, deps.replica, () => deps.feed.isReady)] : []),
    timeRequests(ctx.metrics.feedRequestSeconds),
    getFeedSkeletonRoute({
      feedgen,
      feed: deps.feed,
      verifyUser,
      limiter: new RateLimiter(FEED_RATE_LIMIT),
      anonymousLimiter: new RateLimiter(ANONYMOUS_RATE_LIMIT),
      trustFlyClientIp,
    }),
  );
  app.post(
    '/xrpc/app.bsky.feed.sendInteractions',
    ...sendInteractionsRoutes({ verifyUser, limiter: new RateLimiter(FEED_RATE_LIMIT), record: deps.recordInteractions }),
  );
  app.use((_req, res) => {
    res.status(404).json({ error: 'MethodNotImplemented', message: 'no such method' });
  });
  app.use(xrpcErrorHandler(ctx.log));
  return app;
}

/** `/metrics` alone, for the internal port that Fly's `[metrics]` section scrapes. */
export function createMetricsApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsRoute(ctx));
  app.use((_req, res) => {
    res.status(404).type('text').send('only /metrics is served on this port\n');
  });
  return app;
}

/**
 * Slow clients: Node's defaults let one trickle its headers for 60 s and its body for
 * 300 s, checked every 30 s, and nothing caps the connections they hold. Our callers
 * (the AppView, Fly's proxy) send a whole request, at most 256 KiB, in well under a second.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 20_000;
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * Binds `host` (`::` by default: Fly's private network is IPv6, and on Linux `::` takes
 * IPv4 as well). Where the machine has no IPv6 at all, `::` falls back to 0.0.0.0.
 */
export async function listen(app: Express, port: number, host = '::'): Promise<Server> {
  try {
    return await bind(app, port, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
    return bind(app, port, '0.0.0.0');
  }
}

function bind(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(
      { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
      app,
    );
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
