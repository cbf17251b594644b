import { AppViewFollowsClient } from '../../atproto/follows-client.js';
import type { FollowsConfig } from '../../config/config.js';
import type { Metrics } from '../../observability/metrics.js';
import { FollowsCache } from './follows-cache.js';

/** A fetch holds a socket for up to FOLLOWS_TIMEOUT_MS: this many users at once is plenty for cold starts. */
const MAX_CONCURRENT_FETCHES = 16;

/** The follows cache the configuration asks for, over the AppView; undefined when follows are off. */
export function followsCacheFor(config: FollowsConfig, metrics: Metrics): FollowsCache | undefined {
  if (config.appviewUrl === undefined) return undefined;
  const client = new AppViewFollowsClient({ appviewUrl: config.appviewUrl, timeoutMs: config.timeoutMs, maxFollows: config.maxFollows });
  const options = { ttlMs: config.ttlMs, failureTtlMs: config.failureTtlMs, maxUsers: config.cacheUsers, maxFollows: config.maxFollows, maxConcurrentFetches: MAX_CONCURRENT_FETCHES };
  return new FollowsCache(client, options, {
    fetched: (outcome) => metrics.followsFetches.inc({ outcome }),
    looked: (result) => metrics.followsLookups.inc({ result }),
    users: (count) => metrics.followsCachedUsers.set(count),
  });
}
