import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Position, ReplicaLayout } from '../bucket/layout.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { restoreNewest } from './fresh-restore.js';
import { GenerationWatch } from './generation-watch.js';
import { type Exclusive, LocalCopy } from './local-copy.js';
import { type LastRestore, PollLoop } from './poll-loop.js';
import type { ReplicaStatus } from './replica-status.js';

export type { Exclusive } from './local-copy.js';
export { FollowerError } from './poll-outcome.js';

export interface FollowerOptions {
  store: ObjectStore;
  layout: ReplicaLayout;
  dbPath: string;
  log: Logger;
  metrics: Metrics;
  /** Wait between polls that found nothing new. */
  pollMs: number;
  /** Nothing new for this long: look for a new generation, or a gap left by retention. */
  stallMs: number;
  /**
   * The primary's WAL restarts (a new index) only after a checkpoint, and Litestream
   * checkpoints once the WAL passes this many pages: from there on, a miss looks at the
   * next index at once.
   */
  minCheckpointPages: number;
  /** Polls in a row that find the same segment damaged before the copy is restored afresh (default 30). */
  damagedSegmentPolls?: number;
  /** Called after a running follower swapped in a fresh restore (its row ids may differ). */
  onRestored?: () => void;
}

/**
 * Keeps a local copy of the primary's database by applying what Litestream uploads:
 * restore the newest generation (snapshot, then its WAL), then poll for the next WAL
 * segment and apply it. Each segment is checked (salts, checksum chain) before a page is
 * written; pages go straight into the file, as a checkpoint writes them, with every
 * connection closed. The position is kept durably beside the file.
 */
export class Follower implements ReplicaStatus {
  private stopped = false;
  private readonly copy: LocalCopy;
  private readonly watch: GenerationWatch;
  private readonly loop: PollLoop;

  constructor(private readonly options: FollowerOptions) {
    this.copy = new LocalCopy(options.dbPath);
    this.watch = new GenerationWatch(options.store, options.layout, options.stallMs);
    this.loop = new PollLoop({
      ...options,
      copy: this.copy,
      watch: this.watch,
      restoreAfresh: async () => {
        await this.restore();
        if (!this.stopped) options.onRestored?.();
      },
    });
  }

  /** Until the engine holds connections, applying needs no closing of anything. */
  setExclusive(exclusive: Exclusive): void {
    this.copy.exclusive = exclusive;
  }

  lagSeconds(): number | undefined {
    return this.copy.lagSeconds();
  }

  caughtUp(): boolean {
    return this.loop.caughtUp();
  }

  primaryServesFeeds(): boolean {
    return this.copy.primaryServesFeeds();
  }

  lastRestore(): LastRestore | undefined {
    return this.loop.lastRestore();
  }

  primaryIngestPaused(): string | undefined {
    return this.copy.primaryIngestPaused();
  }

  get position(): Position | undefined {
    return this.copy.position;
  }

  /** Resumes from the saved position, or restores the newest generation from scratch. */
  async bootstrap(): Promise<void> {
    const saved = this.copy.saved();
    if (saved === 'unfinished') this.options.log.warn('follower: the last apply did not finish; restoring afresh');
    else if (saved) {
      this.copy.adopt(saved);
      this.options.log.info({ position: saved.position }, 'follower: resuming');
      return;
    }
    await this.restore();
  }

  start(): void {
    this.loop.start();
  }

  /** No further poll; resolves once the poll under way has ended (a restore under way swaps nothing in). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
  }

  private async restore(): Promise<void> {
    await restoreNewest({ ...this.options, cancelled: () => this.stopped }, this.copy);
    this.watch.progressed();
  }
}
