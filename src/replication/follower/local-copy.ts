import fs from 'node:fs';
import type { Position } from '../bucket/layout.js';
import { type PrimarySignals, readPrimarySignals } from './copy-checks.js';
import { FollowerError } from './poll-outcome.js';
import { type FollowState, positionPath, readFollowState, writeFollowState } from './position-file.js';

/** Runs `apply` while no connection has the database open. */
export type Exclusive = (apply: () => void) => void;

/**
 * The followed database file and what is known of it: the position applied so far, and
 * the primary's heartbeat and feed state as the file holds them.
 */
export class LocalCopy {
  /** Until the engine holds connections, changing the file needs no closing of anything. */
  exclusive: Exclusive = (apply) => apply();
  private current: FollowState | undefined;
  private primary: PrimarySignals = { heartbeatMs: undefined, feed: undefined };

  constructor(readonly dbPath: string) {}

  get state(): FollowState {
    if (!this.current) throw new FollowerError('unexpected', 'follower not bootstrapped');
    return this.current;
  }

  get position(): Position | undefined {
    return this.current?.position;
  }

  exists(): boolean {
    return fs.existsSync(this.dbPath);
  }

  /** The position saved beside a whole file; `unfinished` when the last change was cut short. */
  saved(): FollowState | 'unfinished' | undefined {
    const saved = readFollowState(this.dbPath);
    if (saved?.applying) return 'unfinished';
    return saved && this.exists() ? saved : undefined;
  }

  /** Takes `state` as what the file holds now. */
  adopt(state: FollowState): void {
    this.current = state;
    const read = readPrimarySignals(this.dbPath);
    if (read.heartbeatMs !== undefined) this.primary = read;
  }

  /**
   * Changes the file with every connection closed. The position is saved marked
   * `applying` first and unmarked after: a change cut short is found at the next boot.
   */
  commit(next: FollowState, change: () => void): void {
    this.exclusive(() => {
      writeFollowState(this.dbPath, { ...next, applying: true });
      change();
      writeFollowState(this.dbPath, next);
    });
    this.adopt(next);
  }

  lagSeconds(): number | undefined {
    const { heartbeatMs } = this.primary;
    return heartbeatMs === undefined ? undefined : Math.max(0, (Date.now() - heartbeatMs) / 1000);
  }

  /** False when the primary last wrote that its feed is loading or stopped; true otherwise. */
  primaryServesFeeds(): boolean {
    return this.primary.feed === undefined || this.primary.feed === 'serving';
  }

  /** Why the primary's ingest was paused as of this copy; undefined while it wrote. */
  primaryIngestPaused(): string | undefined {
    return this.primary.ingestPaused;
  }

  /** Deletes the file and its position (a temporary copy, done with or left behind). */
  remove(): void {
    fs.rmSync(this.dbPath, { force: true });
    fs.rmSync(positionPath(this.dbPath), { force: true });
  }
}
