import fs from 'node:fs';
import type { Position } from '../bucket/layout.js';
import { readHeartbeatMs } from './copy-checks.js';
import { FollowerError } from './poll-outcome.js';
import { type FollowState, positionPath, readFollowState, writeFollowState } from './position-file.js';

/** Runs `apply` while no connection has the database open. */
export type Exclusive = (apply: () => void) => void;

/**
 * The followed database file and what is known of it: the position applied so far, and
 * the primary's heartbeat as the file holds it.
 */
export class LocalCopy {
  /** Until the engine holds connections, changing the file needs no closing of anything. */
  exclusive: Exclusive = (apply) => apply();
  private current: FollowState | undefined;
  private heartbeatMs: number | undefined;

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
    this.heartbeatMs = readHeartbeatMs(this.dbPath) ?? this.heartbeatMs;
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
    return this.heartbeatMs === undefined ? undefined : Math.max(0, (Date.now() - this.heartbeatMs) / 1000);
  }

  /** Deletes the file and its position (a temporary copy, done with or left behind). */
  remove(): void {
    fs.rmSync(this.dbPath, { force: true });
    fs.rmSync(positionPath(this.dbPath), { force: true });
  }
}
