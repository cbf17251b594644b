import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ReplicaLayout } from '../bucket/layout.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { quickCheck } from './copy-checks.js';
import { type NewestSnapshot, newestGeneration } from './generation-watch.js';
import { LocalCopy } from './local-copy.js';
import { Lz4FormatError, Lz4FrameDecoder } from './lz4.js';
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
    if (!(await writeSnapshot(parts, newest, fresh.dbPath))) {
      log.info('follower: stopped during a restore; the copy is left as it was');
      return;
    }
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

/**
 * Streams the snapshot into `file` block by block as it downloads: each block is written
 * before the next chunk is read, so memory stays at a few blocks whatever the database's
 * size and a slow disk slows the download. False when the follower stopped meanwhile.
 */
async function writeSnapshot({ store, layout, cancelled }: RestoreParts, { generation, snapshotIndex }: NewestSnapshot, file: string): Promise<boolean> {
  const body = await store.getStream(layout.snapshotKey(generation, snapshotIndex));
  if (!body) throw new FollowerError('restore_failed', `snapshot ${snapshotIndex} of ${generation} is gone`);
  const decoder = new Lz4FrameDecoder();
  const out = await openForWriting(file, body);
  let written = false;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      for (const block of decoder.push(chunk)) await out.append(block);
      if (cancelled?.()) return false;
    }
    decoder.end();
    written = true;
  } catch (err) {
    if (err instanceof Lz4FormatError) throw new FollowerError('restore_failed', `snapshot ${snapshotIndex} of ${generation} is unreadable`, { cause: err });
    throw err;
  } finally {
    body.destroy();
    // A failure to close matters only when all else went well: it must not hide the first error.
    await out.close().catch((err: unknown) => {
      if (written) throw err;
    });
  }
  markRollbackFormat(file);
  return true;
}

interface SnapshotFile {
  append(bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** The restored file, written front to back; its failures (a full disk) are apply_failed. */
async function openForWriting(file: string, body: { destroy(): void }): Promise<SnapshotFile> {
  const failed = (what: string, cause: unknown) => new FollowerError('apply_failed', `${what} the restored snapshot ${file}`, { cause });
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'w');
  } catch (err) {
    body.destroy();
    throw failed('create', err);
  }
  let position = 0;
  return {
    append: async (bytes) => {
      try {
        for (let done = 0; done < bytes.length; ) {
          const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position);
          done += bytesWritten;
          position += bytesWritten;
        }
      } catch (err) {
        throw failed(`write byte ${position} of`, err);
      }
    },
    close: () => handle.close().catch((err: unknown) => Promise.reject(failed('close', err))),
  };
}

/** Applies the generation's WAL from the snapshot's index on, segment by segment, up to the last one uploaded. */
async function replayWal(parts: RestoreParts, fresh: LocalCopy): Promise<void> {
  const { store, layout, log, metrics } = parts;
  for (;;) {
    try {
      const segment = (await fetchSegment(store, layout, fresh.state.position, fresh.state)) ?? (await fetchAcrossIndex(store, layout, fresh.state));
      if (!segment) return;
      applySegment(fresh, segment, metrics);
    } catch (err) {
      // Still uploading, or damaged: the copy is swapped in without it, and the follower retries it from there.
      if (!(err instanceof FollowerError && err.reason === 'segment_damaged')) throw err;
      log.warn({ err }, 'follower: segment unreadable, retrying');
      return;
    }
  }
}
