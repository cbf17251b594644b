import type { LastRestore } from './poll-loop.js';

/**
 * What the HTTP layer needs to know of a replica's follower: how stale its copy is, and
 * whether it has ever caught up with the primary's uploads.
 */
export interface ReplicaStatus {
  /** Seconds since the primary's heartbeat as this copy holds it; undefined before the first one. */
  lagSeconds(): number | undefined;
  /** True once the follower has applied everything the bucket held, at least once. */
  caughtUp(): boolean;
  /** False when the copy says the primary's feed is loading or stopped: a read handed to it would fail. */
  primaryServesFeeds(): boolean;
  /** The newest poll that restored the copy afresh (why, and when); undefined if none has. */
  lastRestore(): LastRestore | undefined;
}
