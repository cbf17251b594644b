import { rmSync } from 'node:fs';
import { createServiceAuth } from '../../src/atproto/service-auth.js';
import { type AppContext, createContext } from '../../src/roles/context.js';
import { createHttpApp, type HttpDeps, listen } from '../../src/http/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { CurrentFeed } from '../../src/feed/current-feed.js';
import type { FeedEngine } from '../../src/feed/feed-engine.js';
import type { ReplicaStatus } from '../../src/replication/follower/replica-status.js';
import type { LastRestore } from '../../src/replication/follower/poll-loop.js';
import { metricValue, testConfig } from '../../testkit/processes/service.js';

/** A replica's follower as a test wants it: set `lag` and `caught` at will. */
export class FakeReplicaStatus implements ReplicaStatus {
  constructor(
    public lag: number | undefined,
    public caught: boolean,
    public primaryServes = true,
    public restore: LastRestore | undefined = undefined,
  ) {}

  primaryServesFeeds(): boolean {
    return this.primaryServes;
  }

  lagSeconds(): number | undefined {
    return this.lag;
  }

  caughtUp(): boolean {
    return this.caught;
  }

  lastRestore(): LastRestore | undefined {
    return this.restore;
  }
}

/** A feed engine that answers every page with one marked post, so a test sees who served it. */
export function markedFeed(reqId: string): CurrentFeed & { ready: boolean } {
  const page = { feed: [{ post: `at://did:plc:servedbyxxxxxxxxxxxxxxxxx/app.bsky.feed.post/${reqId}` }], reqId };
  const engine = { isReady: true, ranker: { skeleton: () => page, serve: async () => page }, ingestLagSeconds: () => undefined };
  const feed = new CurrentFeed(engine as unknown as FeedEngine);
  // `ready` plays the graph loading (false) or loaded (true).
  return Object.defineProperty(feed, 'ready', { get: () => engine.isReady, set: (ready: boolean) => (engine.isReady = ready) }) as CurrentFeed & { ready: boolean };
}

export interface HttpApp {
  url: string;
  ctx: AppContext;
  /** One sample of this app's metrics. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/**
 * Just the HTTP surface (createHttpApp) on 127.0.0.1, configured from `env` like the
 * service, with real service auth; `deps` replaces any part.
 */
export async function startHttpApp(env: Record<string, string>, deps: Partial<HttpDeps> = {}): Promise<HttpApp> {
  const config = testConfig(env);
  const ctx = createContext(config, { log: createLogger('silent') });
  const auth = createServiceAuth({ serviceDid: config.feedgen.serviceDid, resolver: ctx.didResolver });
  const app = createHttpApp(ctx, { feed: new CurrentFeed(), verifyUser: auth.verify, recordInteractions: undefined, ...deps });
  const server = await listen(app, 0, '127.0.0.1');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    ctx,
    metric: async (name, labels) => metricValue(await ctx.metrics.registry.metrics(), name, labels),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
