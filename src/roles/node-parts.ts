import type { ServiceAuth } from '../atproto/service-auth.js';
import type { CurrentFeed } from '../feed/current-feed.js';
import type { FeedEngine } from '../feed/feed-engine.js';
import type { ServedLog } from '../feed/served-log.js';
import type { Logger } from '../observability/logger.js';
import type { StatusSampler } from '../observability/status/sampler.js';

/** What both roles are handed, built once per process and kept across engine swaps. */
export interface NodeParts {
  /** The engine the HTTP app serves from. */
  feed: CurrentFeed;
  /** The pages this node served (feed-quality figures); outlives a replica's engine reloads. */
  served: ServedLog;
  /** The status page's memory of the last hour. */
  status: StatusSampler;
  auth: ServiceAuth;
  /** What to do when the service can no longer work (in production: exit with status 1). */
  onFatal: (err: Error) => void;
}

/** A role once started: what the service facade needs to stop it. */
export interface RunningRole {
  port(): number;
  stop(): Promise<void>;
}

/**
 * Loads the engine's like graph; resolves with true once it serves. A failure is fatal,
 * unless the engine was stopped under the load (the role stopping, or a newer engine
 * replacing it): then the load simply ends, with false.
 */
export async function loadEngine(engine: FeedEngine, parts: NodeParts, log: Logger, what = 'like graph failed to load'): Promise<boolean> {
  try {
    await engine.start();
    return !engine.isStopped;
  } catch (err) {
    if (engine.isStopped) return false;
    log.fatal({ err }, what);
    parts.onFatal(err instanceof Error ? err : new Error(String(err)));
    return false;
  }
}
