import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ReplicaLayout } from '../bucket/layout.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { quickCheck } from './copy-checks.js';
import { type NewestSnapshot, newestGeneration } from './generation-watch.js';
import { LocalCopy } from './local-copy.js';
import { Lz4FormatError, lz4Decompress } from './lz4.js';
import { markRollbackFormat } from './page-writer.js';
import { FollowerError } from './poll-outcome.js';
import { applySegment, fetchAcrossIndex, fetchSegment } from './wal-segments.js';

export interface RestoreParts {
  store: ObjectStore;
  layout: ReplicaLayout;
  log: Logger;
  metrics: Metrics;
  /** True once the follower stops: a restore then ends without swapping anything in. */
  cancelled?: () => boolean;
}

/**
 * Restores the newest generation into a new file beside the copy (its snapshot, then its
 * WAL as far as uploaded), checks it, and swaps it in atomically: the old file serves
 * until the rename.
 */
export async function restoreNewest(parts: RestoreParts, copy: LocalCopy): Promise<void> {
  const { store, layout, log } = parts;
  const newest = await newestGeneration(store, layout);
  if (!newest) throw new FollowerError('restore_failed', 'the replica holds no generation yet');
  const started = performance.now();
  fs.mkdirSync(path.dirname(copy.dbPath), { recursive: true });
  const fresh = new LocalCopy(`${copy.dbPath}.restoring`);
  fresh.remove();
  try {
    await writeSnapshot(parts, newest, fresh.dbPath);
    fresh.adopt({ position: { generation: newest.generation, index: newest.snapshotIndex, offset: 0 }, wal: undefined, applying: false });
    await replayWal(parts, fresh);
    // A snapshot read while still being uploaded would be cut short: check before serving it.
    const check = quickCheck(fresh.dbPath);
    if (check !== 'ok') throw new FollowerError('restore_failed', `restored copy fails quick_check (${check}); will retry`);
    if (parts.cancelled?.()) {
      log.info('follower: stopped during a restore; the copy is left as it was');
      return;
    }
    try {
      copy.commit(fresh.state, () => fs.renameSync(fresh.dbPath, copy.dbPath));
    } catch (err) {
      throw new FollowerError('restore_failed', `swap the restored copy in as ${copy.dbPath}`, { cause: err });
    }
  } finally {
    fresh.remove(); // after the swap, only its position file is left
  }
  log.info({ position: copy.state.position, seconds: ((performance.now() - started) / 1000).toFixed(1) }, 'follower: restored');
}

async function writeSnapshot({ store, layout }: RestoreParts, { generation, snapshotIndex }: NewestSnapshot, file: string): Promise<void> {
  const snapshot = await store.get(layout.snapshotKey(generation, snapshotIndex));
  if (!snapshot) throw new FollowerError('restore_failed', `snapshot ${snapshotIndex} of ${generation} is gone`);
  let bytes: Buffer;
  try {
    bytes = lz4Decompress(snapshot);
  } catch (err) {
    if (err instanceof Lz4FormatError) throw new FollowerError('restore_failed', `snapshot ${snapshotIndex} of ${generation} is unreadable`, { cause: err });
    throw err;
  }
  fs.writeFileSync(file, bytes);
  markRollbackFormat(file);
}

/** Applies the generation's WAL from the snapshot's index on, segment by segment, up to the last one uploaded. */
async function replayWal(parts: RestoreParts, fresh: LocalCopy): Promise<void> {
  const { store, layout, log, metrics } = parts;
  for (;;) {
    const here = fresh.state.position;
    const segment = (await fetchSegment(store, layout, here)) ?? (await fetchAcrossIndex(store, layout, here));
    if (!segment) return;
    try {
      applySegment(fresh, segment, metrics);
    } catch (err) {
      // Still uploading, or damaged: the copy is swapped in without it, and the follower retries it from there.
      if (!(err instanceof FollowerError && err.reason === 'segment_damaged')) throw err;
      log.warn({ err }, 'follower: segment unreadable, retrying');
      return;
    }
  }
}
