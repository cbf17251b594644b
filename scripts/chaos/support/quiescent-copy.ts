/**
 * Checks a replica's database file as it is between two applies, without touching it:
 * the follower writes pages straight into the file (no SQLite lock), so a reader could
 * catch it mid-write. A copy taken while the position file says "not applying", with the
 * same position before and after the copy, is exactly what the replica serves at rest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readFollowState } from '../../../src/replication/follower/position-file.js';
import { withReader } from '../../../src/store/database.js';

export interface RestingCheck {
  /** PRAGMA integrity_check of the resting copy ("ok" when sound). */
  integrity: string;
  likes: number;
  generation: string;
}

/** Copies the file at a rest point (retrying while it moves) into `scratchDir` and checks it. */
export async function checkRestingCopy(dbPath: string, scratchDir: string, timeoutMs = 30_000): Promise<RestingCheck> {
  const copy = path.join(scratchDir, `resting-${Date.now()}.db`);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const before = readFollowState(dbPath);
      if (before && !before.applying && fs.existsSync(dbPath)) {
        fs.copyFileSync(dbPath, copy);
        const after = readFollowState(dbPath);
        if (after && !after.applying && JSON.stringify(after.position) === JSON.stringify(before.position)) {
          return { ...inspect(copy), generation: before.position.generation };
        }
      }
      if (Date.now() > deadline) throw new Error(`no resting copy of ${dbPath} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    fs.rmSync(copy, { force: true });
  }
}

function inspect(file: string): Omit<RestingCheck, 'generation'> {
  return withReader(file, (db) => {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
    const likes = integrity === 'ok' ? (db.prepare('SELECT count(*) AS n FROM likes').get() as { n: number }).n : -1;
    return { integrity, likes };
  });
}
