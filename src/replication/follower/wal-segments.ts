import type { Metrics } from '../../observability/metrics.js';
import type { Position, ReplicaLayout } from '../bucket/layout.js';
import type { ObjectStore } from '../bucket/object-store.js';
import type { LocalCopy } from './local-copy.js';
import { Lz4FormatError, lz4Decompress } from './lz4.js';
import { writeCommits } from './page-writer.js';
import { FollowerError } from './poll-outcome.js';
import type { FollowState } from './position-file.js';
import { FRAME_HEADER_BYTES, readPageSize, readWalFrames, readWalHeader, WAL_HEADER_BYTES, type WalCommit, WalFormatError, type WalState } from './wal.js';

/**
 * WAL bytes as uploaded (decompressed), from one segment or from several in a row, and
 * where in the WAL they start.
 */
export interface Segment {
  position: Position;
  bytes: Buffer;
}

/**
 * The segment starting at `position`, once uploaded (its key follows from the position:
 * a GET, no LIST), joined with the segments after it until it ends on a commit frame.
 * Litestream 0.3 uploads its shadow WAL up to the file's size when it looks, while a
 * copy into it may be under way, so one transaction can span two uploads (seen with
 * batches of thousands of likes). Undefined while the rest is not uploaded yet.
 */
export async function fetchSegment(store: ObjectStore, layout: ReplicaLayout, position: Position, state: FollowState): Promise<Segment | undefined> {
  const first = await fetchOne(store, layout, position);
  if (!first) return undefined;
  const parts = [first];
  let length = first.length;
  const pageSize = pageSizeFor(first, position, state);
  while (pageSize !== undefined && !endsOnCommit(parts.at(-1)!, length, position, pageSize)) {
    const next = await fetchOne(store, layout, { ...position, offset: position.offset + length });
    if (!next) return undefined;
    parts.push(next);
    length += next.length;
  }
  return { position, bytes: parts.length === 1 ? first : Buffer.concat(parts, length) };
}

/**
 * The first segment of the index after `here`'s (the primary's WAL restarted), unless
 * more of `here`'s index turned up meanwhile: uploads are in order, so once the next
 * index has begun, anything left of the current one is there.
 */
export async function fetchAcrossIndex(store: ObjectStore, layout: ReplicaLayout, state: FollowState): Promise<Segment | undefined> {
  const here = state.position;
  const first = await fetchSegment(store, layout, { ...here, index: here.index + 1, offset: 0 }, state);
  if (!first) return undefined;
  return (await fetchSegment(store, layout, here, state)) ?? first;
}

/** One object, decompressed; an object that is not whole LZ4 is `segment_damaged`. */
async function fetchOne(store: ObjectStore, layout: ReplicaLayout, position: Position): Promise<Buffer | undefined> {
  const compressed = await store.get(layout.walKey(position));
  if (!compressed) return undefined;
  try {
    return lz4Decompress(compressed);
  } catch (err) {
    // An object read while still being uploaded looks torn (a stand-in store is not
    // atomic as S3 is): the next poll tries it again.
    if (err instanceof Lz4FormatError) throw new FollowerError('segment_damaged', `wal segment ${describe(position)} is unreadable`, { cause: err });
    throw err;
  }
}

/** The page size of the WAL index `position` is in: from its header, or from the state of the same index. */
function pageSizeFor(first: Buffer, position: Position, state: FollowState): number | undefined {
  if (position.offset === 0) return first.length >= WAL_HEADER_BYTES ? readPageSize(first) : undefined;
  return state.wal && state.position.index === position.index ? state.wal.pageSize : undefined;
}

/** Whether the last frame of `last` (the latest part of bytes starting at `position`) commits a transaction. */
function endsOnCommit(last: Buffer, length: number, position: Position, pageSize: number): boolean {
  const frameBytes = FRAME_HEADER_BYTES + pageSize;
  const framesStart = position.offset === 0 ? WAL_HEADER_BYTES : 0;
  // Not whole frames, or too short to tell: the check that follows says what is wrong.
  if ((length - framesStart) % frameBytes !== 0 || last.length < frameBytes) return true;
  return last.readUInt32BE(last.length - frameBytes + 4) !== 0;
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

function checkSegment(state: FollowState, { position, bytes }: Segment): { commits: WalCommit[]; pageSize: number; next: FollowState; bytes: number } {
  let wal: WalState;
  let frames = bytes;
  try {
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
    if (err instanceof WalFormatError) throw new FollowerError('segment_damaged', `wal segment ${describe(position)} is unreadable`, { cause: err });
    throw err;
  }
}

function describe({ generation, index, offset }: Position): string {
  return `${generation}/${index}:${offset}`;
}
