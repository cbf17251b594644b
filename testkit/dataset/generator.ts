/**
 * Seeded generator of a realistic Bluesky like stream, as Jetstream v1 JSONL lines.
 *
 * The model, and why each part is there:
 * - Users have heavy-tailed activity (Pareto) and belong to 1–2 communities of shared taste.
 *   Posts belong to one community (their author's) and have a heavy-tailed appeal (Pareto).
 * - A like picks a user by activity, then mostly a post of one of the user's communities, else
 *   a post of the whole network, with probability ∝ appeal × exp(-age / decay). Since the decay
 *   is exponential, appeal × exp(visible since / decay) is a constant per post, so Fenwick trees
 *   sample "popular and recent" in O(log n) without ever re-weighting: per community one for
 *   fresh posts and one for its backlog, and one for the network.
 * - Event times follow a diurnal curve; a min-heap holds what falls due later (posts becoming
 *   visible, unlikes, post deletes) and is merged in time order with the scheduled streams.
 * - Memory stays bounded: typed arrays per user and per post, and a blocked Bloom filter in
 *   place of the set of (user, post) pairs, so nobody likes the same post twice.
 * - Lines are written as bytes into a buffer: same seed and options, byte-identical output.
 *
 * Where each part lives, below this folder:
 * - options.ts, stats.ts: what goes in and what is counted on the way out.
 * - random.ts: the seeded PRNG, hashes, and the alias-table and Fenwick-tree samplers.
 * - model/: users and communities (population), posts and their life cycle (catalog), and who
 *   likes what (interactions, pair-filter).
 * - time/: the window and diurnal curve (timeline), the gaps between related times (delays),
 *   and the events due later (pending-queue).
 * - output/: the byte buffer (line-writer), DIDs, TIDs and CIDs (identifiers), Jetstream lines
 *   (records, post-text), and the malformed ones (malformed).
 * - stream.ts: ties them together, one line at a time.
 *
 * Every draw comes from one PRNG in a fixed order, so moving a draw changes the output.
 */
import { LineWriter, MAX_EVENT_BYTES } from './output/line-writer.js';
import { type DatasetOptions, resolveOptions } from './options.js';
import { createDatasetStats, type DatasetStats } from './stats.js';
import { StreamGenerator } from './stream.js';

export { type DatasetOptions, type ResolvedDatasetOptions, resolveOptions } from './options.js';
export { createDatasetStats, type DatasetStats, EVENT_KINDS, type EventKind, MALFORMED_KINDS, type MalformedKind } from './stats.js';

const DEFAULT_CHUNK_BYTES = 1 << 20;
const NEWLINE = 10;

/**
 * Yields JSONL lines (without newline) in stream order and returns the filled stats.
 * Bad options throw a RangeError at once, before the first line.
 */
export function generateDataset(
  options: DatasetOptions,
  stats: DatasetStats = createDatasetStats(),
): Generator<string, DatasetStats, undefined> {
  const out = new LineWriter(MAX_EVENT_BYTES);
  return textLines(new StreamGenerator(resolveOptions(options), stats, out), out, stats);
}

/**
 * The same stream as generateDataset, as newline-terminated lines packed into buffers of
 * about `chunkBytes`: the fast way to a file, with no per-line strings at all.
 */
export function generateDatasetChunks(
  options: DatasetOptions,
  stats: DatasetStats = createDatasetStats(),
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Generator<Buffer, DatasetStats, undefined> {
  const out = new LineWriter(chunkBytes + MAX_EVENT_BYTES);
  return byteChunks(new StreamGenerator(resolveOptions(options), stats, out), out, stats, chunkBytes);
}

function* textLines(stream: StreamGenerator, out: LineWriter, stats: DatasetStats): Generator<string, DatasetStats, undefined> {
  while (stream.writeLine()) yield out.takeText();
  return stats;
}

function* byteChunks(
  stream: StreamGenerator,
  out: LineWriter,
  stats: DatasetStats,
  chunkBytes: number,
): Generator<Buffer, DatasetStats, undefined> {
  while (stream.writeLine()) {
    out.byte(NEWLINE);
    if (out.length >= chunkBytes) yield out.takeBytes();
  }
  if (out.length > 0) yield out.takeBytes();
  return stats;
}
