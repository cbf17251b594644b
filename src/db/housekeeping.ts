import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { EventWriter } from './event-writer.js';
import type { Pruner } from './pruner.js';

const HEARTBEAT_INTERVAL_MS = 1000;
const DAY_US = 86_400_000_000;

export interface HousekeepingDeps {
  retention: Config['retention'];
  writer: EventWriter;
  pruner: Pruner;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
}

/**
 * The primary's periodic writes besides ingest: the heartbeat row every second
 * (replicas measure their lag from it) and retention pruning in small steps.
 * A failed step is logged and counted, and tried again on the next tick.
 */
export class Housekeeping {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly deps: HousekeepingDeps) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.beat();
    this.heartbeatTimer = setInterval(() => this.beat(), HEARTBEAT_INTERVAL_MS);
    this.schedulePrune(this.deps.retention.pruneIntervalMs);
  }

  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.pruneTimer);
  }

  /** One prune step now; returns whether more is waiting. */
  pruneOnce(): boolean {
    const { retention, pruner, metrics, writer } = this.deps;
    const cutoffUs = this.now() * 1000 - retention.days * DAY_US;
    const result = pruner.pruneStep(cutoffUs, retention.pruneBatchRows);
    metrics.pruned.inc({ table: 'likes' }, result.likes);
    metrics.pruned.inc({ table: 'reposts' }, result.reposts);
    metrics.pruned.inc({ table: 'posts' }, result.posts);
    metrics.pruned.inc({ table: 'changes' }, result.changes);
    metrics.likes.set(writer.liveLikeCount());
    return result.more;
  }

  private beat(): void {
    try {
      this.deps.writer.writeHeartbeat(this.now());
    } catch (err) {
      this.deps.log.error({ err }, 'heartbeat write failed');
    }
  }

  private schedulePrune(delayMs: number): void {
    this.pruneTimer = setTimeout(() => {
      let more = false;
      try {
        more = this.pruneOnce();
      } catch (err) {
        this.deps.log.error({ err }, 'prune step failed');
      }
      // A backlog (a long-stopped primary) drains quickly, one short transaction at a time.
      this.schedulePrune(more ? Math.ceil(this.deps.retention.pruneIntervalMs / 10) : this.deps.retention.pruneIntervalMs);
    }, delayMs);
  }
}
