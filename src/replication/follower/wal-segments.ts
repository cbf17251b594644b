import type { Metrics } from '../../observability/metrics.js';
import type { Position, ReplicaLayout } from '../bucket/layout.js';
import type { ObjectStore } from '../bucket/object-store.js';
import type { LocalCopy } from './local-copy.js';
import { Lz4FormatError, lz4Decompress } from './lz4.js';
import { writeCommits } from './page-writer.js';
import { FollowerError } from './poll-outcome.js';
import type { FollowState } from './position-file.js';
import { readWalFrames, readWalHeader, WAL_HEADER_BYTES, type WalCommit, WalFormatError, type WalState } from './wal.js';

/** One uploaded WAL segment, still LZ4-compressed, and where in the WAL it starts. */
export interface Segment {
  position: Position;
  compressed: Buffer;
}

/** The segment starting at `position`, once uploaded (its key follows from the position: a GET, no LIST). */
export async function fetchSegment(store: ObjectStore, layout: ReplicaLayout, position: Position): Promise<Segment | undefined> {
  const compressed = await store.get(layout.walKey(position));
  return compressed && { position, compressed };
}

/**
 * The first segment of the index after `here`'s (the primary's WAL restarted), unless
 * more of `here`'s index turned up meanwhile: uploads are in order, so once the next
 * index has begun, anything left of the current one is there.
 */
export async function fetchAcrossIndex(store: ObjectStore, layout: ReplicaLayout, here: Position): Promise<Segment | undefined> {
  const first = await fetchSegment(store, layout, { ...here, index: here.index + 1, offset: 0 });
  if (!first) return undefined;
  return (await fetchSegment(store, layout, here)) ?? first;
}

/** Past the checkpoint threshold, the current index can end at any upload. */
export function indexMayHaveEnded(state: FollowState, minCheckpointPages: number): boolean {
  const pageSize = state.wal?.pageSize ?? 4096;
  return state.position.offset >= minCheckpointPages * (pageSize + 24);
}

/**
 * Checks a segment against the copy's WAL chain (LZ4 frame, salts, checksums, whole
 * commits), then writes its pages into the file as a checkpoint would. A segment that
 * fails a check throws `segment_damaged` with nothing written.
 */
export function applySegment(copy: LocalCopy, segment: Segment, metrics: Metrics): void {
  const started = performance.now();
  const { commits, pageSize, next, bytes } = checkSegment(copy.state, segment);
  try {
    copy.commit(next, () => writeCommits(copy.dbPath, commits, pageSize));
  } catch (err) {
    throw new FollowerError('apply_failed', `apply wal segment ${describe(segment.position)} to ${copy.dbPath}`, { cause: err });
  }
  metrics.replicaAppliedBytes.inc(bytes);
  metrics.replicaApplySeconds.observe((performance.now() - started) / 1000);
}

function checkSegment(state: FollowState, { position, compressed }: Segment): { commits: WalCommit[]; pageSize: number; next: FollowState; bytes: number } {
  let bytes: Buffer;
  let wal: WalState;
  let frames: Buffer;
  try {
    bytes = lz4Decompress(compressed);
    frames = bytes;
    if (position.offset === 0) {
      wal = readWalHeader(bytes.subarray(0, WAL_HEADER_BYTES));
      frames = bytes.subarray(WAL_HEADER_BYTES);
    } else if (state.wal && state.position.index === position.index) {
      wal = state.wal;
    } else {
      throw new FollowerError('unexpected', `no WAL header known for segment ${describe(position)}`);
    }
    const read = readWalFrames(frames, wal);
    const next: FollowState = { position: { ...position, offset: position.offset + bytes.length }, wal: read.state, applying: false };
    return { commits: read.commits, pageSize: wal.pageSize, next, bytes: bytes.length };
  } catch (err) {
    // An object read while still being uploaded looks torn (a stand-in store is not
    // atomic as S3 is): the next poll tries it again.
    if (err instanceof WalFormatError || err instanceof Lz4FormatError) {
      throw new FollowerError('segment_damaged', `wal segment ${describe(position)} is unreadable`, { cause: err });
    }
    throw err;
  }
}

function describe({ generation, index, offset }: Position): string {
  return `${generation}/${index}:${offset}`;
}
