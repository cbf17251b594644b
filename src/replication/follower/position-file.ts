import fs from 'node:fs';
import type { Position } from '../bucket/layout.js';
import type { WalState } from './wal.js';

/**
 * Where the follower is, kept beside the database (`feed.db.follow.json`) so a restart
 * resumes. `applying` is written before pages are, and cleared after the fsync: a file
 * found with it set may be half-written, and is replaced by a fresh restore.
 */
export interface FollowState {
  position: Position;
  /** The WAL index's header and checksum chain up to `position.offset` (none before its first segment). */
  wal: WalState | undefined;
  applying: boolean;
}

export function positionPath(dbPath: string): string {
  return `${dbPath}.follow.json`;
}

export function readFollowState(dbPath: string): FollowState | undefined {
  try {
    return JSON.parse(fs.readFileSync(positionPath(dbPath), 'utf8')) as FollowState;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file, fsynced and renamed: never half a state. */
export function writeFollowState(dbPath: string, state: FollowState): void {
  const file = positionPath(dbPath);
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(state));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
