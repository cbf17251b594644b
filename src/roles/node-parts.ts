import type { ServiceAuth } from '../atproto/service-auth.js';
import type { CurrentFeed } from '../feed/current-feed.js';
import type { FeedEngine } from '../feed/feed-engine.js';
import type { ServedLog } from '../feed/served-log.js';
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

/** Loads the like graph in the background; a failure is fatal unless the role is stopping. */
export function loadInBackground(engine: FeedEngine, parts: NodeParts, stopping: () => boolean, log: { fatal: (o: object, m: string) => void }): void {
  engine.start().catch((err: unknown) => {
    if (stopping()) return; // the database closed under the load: a stop, not a failure
    log.fatal({ err }, 'like graph failed to load');
    parts.onFatal(err instanceof Error ? err : new Error(String(err)));
  });
}
