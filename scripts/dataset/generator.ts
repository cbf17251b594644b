import { readFileSync } from 'node:fs';

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
 */

export interface DatasetOptions {
  seed: number;
  likes: number;
  users?: number;
  posts?: number;
  communities?: number;
  days?: number;
  /** End of the stream; pass a fixed value for reproducible output. */
  endTimeUs?: number;
  /** Extra malformed lines, as a share of valid lines. */
  malformedShare?: number;
  /** Share of likes later deleted by their author. */
  unlikeShare?: number;
  /** Share of posts later deleted by their author. */
  postDeleteShare?: number;
  /** Share of users with an account event (most of them deactivate, delete or get taken down). */
  accountEventShare?: number;
  /** Reposts, as a share of the like count. */
  repostShare?: number;
}

export type ResolvedDatasetOptions = Required<DatasetOptions>;

export const EVENT_KINDS = ['post', 'like', 'repost', 'unlike', 'postDelete', 'account', 'malformed'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const MALFORMED_KINDS = [
  'truncated',
  'timeAsString',
  'uriAsNumber',
  'invalidDid',
  'invalidUri',
  'unknownKind',
  'notPostSubject',
] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** Filled while the generator runs; complete once it is done. */
export interface DatasetStats {
  counts: Record<EventKind, number>;
  malformed: Record<MalformedKind, number>;
  lines: number;
  /** Likes of a post whose community is one of the liker's communities. */
  likesInCommunity: number;
}

export function createDatasetStats(): DatasetStats {
  return {
    counts: zeroCounts(EVENT_KINDS),
    malformed: zeroCounts(MALFORMED_KINDS),
    lines: 0,
    likesInCommunity: 0,
  };
}

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

// ---------------------------------------------------------------------------
// Units and model constants

const US_PER_MS = 1_000;
const US_PER_SECOND = 1_000_000;
const US_PER_MINUTE = 60 * US_PER_SECOND;
const US_PER_HOUR = 60 * US_PER_MINUTE;
const US_PER_DAY = 24 * US_PER_HOUR;

const DEFAULT_LIKES_PER_USER = 50;
const DEFAULT_LIKES_PER_POST = 10;
const DEFAULT_USERS_PER_COMMUNITY = 1000;
const DEFAULT_DAYS = 7;
const DEFAULT_MALFORMED_SHARE = 0.001;
const DEFAULT_UNLIKE_SHARE = 0.02;
const DEFAULT_POST_DELETE_SHARE = 0.01;
const DEFAULT_ACCOUNT_EVENT_SHARE = 0.002;
const DEFAULT_REPOST_SHARE = 0.1;
const MIN_DAYS = 0.01;
/** Keeps exp(age / decay) weights inside float64 range (60 days at a 4 h decay is e^360). */
const MAX_DAYS = 60;
/** Beyond this many likes per (user, post) pair, picks of a not-yet-liked post would starve. */
const MAX_LIKE_DENSITY = 0.05;

/** Pareto shapes: lower is heavier. Caps are in multiples of the least active. */
const USER_ACTIVITY_ALPHA = 1.2;
const USER_ACTIVITY_CAP = 500;
/** Nobody can like more than this share of all posts, however active. */
const USER_MAX_POST_COVERAGE = 0.2;
const AUTHOR_ACTIVITY_ALPHA = 1.5;
const AUTHOR_ACTIVITY_CAP = 200;
const POST_APPEAL_ALPHA = 0.8;
const POST_APPEAL_CAP = 100_000;
/** Community sizes follow Zipf with this exponent. */
const COMMUNITY_SIZE_ZIPF = 0.8;
const SECOND_COMMUNITY_SHARE = 0.4;
/** A member of two communities likes (and posts) in the second one this often. */
const SECOND_COMMUNITY_ACTIVITY_SHARE = 0.3;
/** Share of likes looked for in the liker's own communities; the rest go to the whole network. */
const IN_COMMUNITY_LIKE_SHARE = 0.9;
/** Nobody likes more than this share of their communities' posts; the busiest look beyond. */
const MAX_COMMUNITY_COVERAGE = 0.3;
/**
 * Likes in a community follow its newest posts; someone who has liked those digs into the
 * community's backlog; network-wide picks favour lasting popularity.
 */
const FRESH_DECAY_US = 4 * US_PER_HOUR;
const BACKLOG_DECAY_US = 48 * US_PER_HOUR;
const NETWORK_DECAY_US = 24 * US_PER_HOUR;

/** Posts start before the first like so early likes have something to choose from. */
const POST_PRELUDE_US = 6 * US_PER_HOUR;
const POST_PRELUDE_MAX_WINDOW_SHARE = 0.25;
/** A post is seen, and can be liked, only a little after it is created. */
const VISIBILITY_DELAY_MIN_US = 2 * US_PER_SECOND;
const VISIBILITY_DELAY_MEAN_US = 20 * US_PER_SECOND;
const VISIBILITY_DELAY_MAX_US = 5 * US_PER_MINUTE;
const REPLY_SHARE = 0.25;
/** Replies are seen by fewer people than top-level posts. */
const REPLY_APPEAL_FACTOR = 0.1;
/** Unlikes are either quick regrets or a later clean-up. */
const QUICK_UNLIKE_SHARE = 0.4;
const QUICK_UNLIKE_MEAN_US = 20 * US_PER_SECOND;
const LATE_UNLIKE_MEAN_US = 8 * US_PER_HOUR;
const POST_DELETE_MIN_DELAY_US = 10 * US_PER_MINUTE;
const POST_DELETE_MEAN_DELAY_US = 12 * US_PER_HOUR;
/** Some account events are plain re-activations that change nothing. */
const ACCOUNT_ACTIVE_SHARE = 0.3;
/** Statuses of the rest, repeated to weigh them. */
const ACCOUNT_STATUSES = ['deactivated', 'deactivated', 'deleted', 'deleted', 'takendown'] as const;
const FIREHOSE_SEQ_BASE = 31_000_000_000;
const FIREHOSE_EVENTS_PER_SECOND = 2_000;

/** The diurnal curve of a fixed timezone: peak-to-trough ratio (1 + a) / (1 - a). */
const DIURNAL_AMPLITUDE = 0.5;
const DIURNAL_PEAK_HOUR_UTC = 20;
/** Client clocks run a bit behind Jetstream's receive time. */
const CREATED_AT_LAG_MIN_US = 250 * US_PER_MS;
const CREATED_AT_LAG_MEAN_US = 700 * US_PER_MS;
const CREATED_AT_LAG_MAX_US = 10 * US_PER_SECOND;
/** Jetstream workers reorder a little: some events are stamped slightly early. */
const JITTER_SHARE = 0.25;
const JITTER_MEAN_US = 30 * US_PER_MS;
const JITTER_MAX_US = 400 * US_PER_MS;

/** Tries before a user (or the whole like) is given up as impossible to place. */
const FRESH_TRIES_PER_USER = 4;
const BACKLOG_TRIES_PER_USER = 16;
const NETWORK_TRIES_PER_USER = 8;
const USER_TRIES_PER_INTERACTION = 100;

const DEFAULT_CHUNK_BYTES = 1 << 20;
const NEWLINE = 10;

const LIKE_COLLECTION = 'app.bsky.feed.like';
const REPOST_COLLECTION = 'app.bsky.feed.repost';
const POST_COLLECTION = 'app.bsky.feed.post';
const LIKE_SALT = 0;
const REPOST_SALT = 0x6a09e667;

const INTEROP_SYNTAX_DIR = new URL('../../../shared/fixtures/atproto-interop/syntax/', import.meta.url);

// ---------------------------------------------------------------------------
// Options

export function resolveOptions(options: DatasetOptions): ResolvedDatasetOptions {
  const likes = requireInteger('likes', options.likes, 1);
  // Small datasets get more users and posts than the ratios say, so MAX_LIKE_DENSITY holds.
  const defaultUsers = Math.max(Math.round(likes / DEFAULT_LIKES_PER_USER), Math.ceil(2 * Math.sqrt(likes)));
  const defaultPosts = Math.max(Math.round(likes / DEFAULT_LIKES_PER_POST), Math.ceil(10 * Math.sqrt(likes)));
  const users = requireInteger('users', options.users ?? defaultUsers, 1);
  const posts = requireInteger('posts', options.posts ?? defaultPosts, 1);
  const communities = requireInteger(
    'communities',
    options.communities ?? Math.min(users, Math.max(2, Math.round(users / DEFAULT_USERS_PER_COMMUNITY))),
    1,
    users,
  );
  const days = requireNumber('days', options.days ?? DEFAULT_DAYS, MIN_DAYS, MAX_DAYS);
  const endTimeUs = requireInteger('endTimeUs', options.endTimeUs ?? Math.floor(Date.now() / 1000) * US_PER_SECOND, 1);
  if (endTimeUs - days * US_PER_DAY - POST_PRELUDE_US <= 0) throw new RangeError('endTimeUs: must leave room for the window before it');
  if (likes > users * posts * MAX_LIKE_DENSITY) {
    throw new RangeError(`likes: ${likes} is too many for ${users} users and ${posts} posts; raise users or posts`);
  }
  return {
    seed: requireInteger('seed', options.seed, 0, 0xffff_ffff),
    likes,
    users,
    posts,
    communities,
    days,
    endTimeUs,
    malformedShare: requireNumber('malformedShare', options.malformedShare ?? DEFAULT_MALFORMED_SHARE, 0, 0.5),
    unlikeShare: requireNumber('unlikeShare', options.unlikeShare ?? DEFAULT_UNLIKE_SHARE, 0, 1),
    postDeleteShare: requireNumber('postDeleteShare', options.postDeleteShare ?? DEFAULT_POST_DELETE_SHARE, 0, 1),
    accountEventShare: requireNumber('accountEventShare', options.accountEventShare ?? DEFAULT_ACCOUNT_EVENT_SHARE, 0, 1),
    repostShare: requireNumber('repostShare', options.repostShare ?? DEFAULT_REPOST_SHARE, 0, 1),
  };
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function requireNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected a number in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

// ---------------------------------------------------------------------------
// Randomness: a seeded PRNG for draws, a hash for identifiers derived from an index

const GOLDEN_RATIO_32 = 0x9e3779b9;

/** murmur3's finalizer: a cheap, well-mixed 32-bit hash. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function hash32(key: number, index: number, lane: number): number {
  return mix32(mix32(key ^ Math.imul(lane + 1, GOLDEN_RATIO_32)) ^ index);
}

/** sfc32: 128-bit state, fast, and good enough statistics for synthetic data. */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    this.a = hash32(seed, 0, 1);
    this.b = hash32(seed, 0, 2);
    this.c = hash32(seed, 0, 3);
    for (let i = 0; i < 16; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  pareto(alpha: number, cap: number): number {
    return Math.min(cap, (1 - this.float()) ** (-1 / alpha));
  }
}

/** Vose's alias method: O(1) draws from a fixed discrete distribution. */
class AliasTable {
  private readonly threshold: Float64Array;
  private readonly alias: Uint32Array;

  constructor(weights: Float64Array) {
    const n = weights.length;
    this.threshold = new Float64Array(n);
    this.alias = new Uint32Array(n);
    const total = weights.reduce((sum, w) => sum + w, 0);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.threshold[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    // Leftovers are 1 up to rounding.
    for (const i of [...small, ...large]) this.threshold[i] = 1;
  }

  sample(rng: Rng): number {
    const i = rng.below(this.threshold.length);
    return rng.float() < this.threshold[i]! ? i : this.alias[i]!;
  }
}

/** Fenwick tree of weights over slots: point updates and weighted draws in O(log n). */
class WeightedSlots {
  private readonly tree: Float64Array;
  private readonly topStep: number;
  private total = 0;

  constructor(readonly size: number) {
    this.tree = new Float64Array(size + 1);
    this.topStep = size === 0 ? 0 : 2 ** Math.floor(Math.log2(size));
  }

  add(slot: number, delta: number): void {
    this.total += delta;
    for (let i = slot + 1; i <= this.size; i += i & -i) this.tree[i]! += delta;
  }

  /** A slot drawn with probability ∝ its weight, or -1 while all are empty. */
  sample(rng: Rng): number {
    if (!(this.total > 0)) return -1;
    let remaining = rng.float() * this.total;
    let position = 0;
    for (let step = this.topStep; step > 0; step >>>= 1) {
      const next = position + step;
      if (next <= this.size && this.tree[next]! <= remaining) {
        position = next;
        remaining -= this.tree[next]!;
      }
    }
    return Math.min(position, this.size - 1);
  }
}

/**
 * Blocked Bloom filter over (user, post, salt): it never misses a pair it holds and rarely
 * claims one it does not, which costs a re-draw, never a duplicate like. One cache line a pair.
 */
class PairFilter {
  private static readonly BITS_PER_PAIR = 16;
  private static readonly WORDS_PER_BLOCK = 16;
  private readonly words: Int32Array;
  private readonly blocks: number;

  constructor(expectedPairs: number) {
    this.blocks = Math.max(1, Math.ceil((expectedPairs * PairFilter.BITS_PER_PAIR) / (32 * PairFilter.WORDS_PER_BLOCK)));
    this.words = new Int32Array(this.blocks * PairFilter.WORDS_PER_BLOCK);
  }

  /** Adds the pair; false when it was (probably) there already. */
  addIfNew(user: number, post: number, salt: number): boolean {
    const h1 = mix32(Math.imul(user, GOLDEN_RATIO_32) ^ mix32(post ^ salt));
    const h2 = mix32(h1 ^ mix32(user + salt));
    const base = (h1 % this.blocks) * PairFilter.WORDS_PER_BLOCK;
    // `|`, not `||`: all four bits get set.
    const newBits = this.setBit(base, h2) | this.setBit(base, h2 >>> 9) | this.setBit(base, h2 >>> 18) | this.setBit(base, mix32(h2));
    return newBits !== 0;
  }

  /** Sets bit (`hash` mod 512) of the block at `base`; 1 when it was clear. */
  private setBit(base: number, hash: number): number {
    const word = base + ((hash >>> 5) & 15);
    const mask = 1 << (hash & 31);
    const wasClear = (this.words[word]! & mask) === 0 ? 1 : 0;
    this.words[word]! |= mask;
    return wasClear;
  }
}

// ---------------------------------------------------------------------------
// Output: lines are built as bytes, so there are no string ropes to flatten and nothing to
// re-encode on the way to a file

/** The longest line an event writes (a reply post with its text), with room to spare. */
const MAX_EVENT_BYTES = 4096;

class LineWriter {
  private bytes: Buffer;
  length = 0;

  constructor(private readonly capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `extra` bytes; the writes below do no bound checks of their own. */
  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.length + extra));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  byte(code: number): void {
    this.bytes[this.length++] = code;
  }

  /** Plain ASCII, such as the constant parts of a line. */
  ascii(text: string): void {
    const { bytes } = this;
    let at = this.length;
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  utf8(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** A non-negative safe integer in decimal. */
  integer(value: number): void {
    const { bytes } = this;
    const start = this.length;
    let end = start;
    do {
      const next = Math.floor(value / 10);
      bytes[end++] = ASCII_ZERO + value - next * 10;
      value = next;
    } while (value > 0);
    this.length = end;
    // The digits came out least significant first.
    for (let i = start, j = end - 1; i < j; i++, j--) {
      const digit = bytes[i]!;
      bytes[i] = bytes[j]!;
      bytes[j] = digit;
    }
  }

  /** `chars` base32 characters of 5 bits each (at most 6), most significant first. */
  base32(value: number, chars: number, alphabet: Uint8Array): void {
    for (let shift = 5 * (chars - 1); shift >= 0; shift -= 5) this.bytes[this.length++] = alphabet[(value >>> shift) & 31]!;
  }

  copy(source: Uint8Array, start: number, count: number): void {
    for (let i = 0; i < count; i++) this.bytes[this.length++] = source[start + i]!;
  }

  textSince(start: number): string {
    return this.bytes.toString('utf8', start, this.length);
  }

  /** Hands over everything written so far as a string, and starts afresh. */
  takeText(): string {
    const text = this.textSince(0);
    this.length = 0;
    return text;
  }

  /** Hands over everything written so far as bytes, and starts afresh in a new buffer. */
  takeBytes(): Buffer {
    const written = this.bytes.subarray(0, this.length);
    this.bytes = Buffer.allocUnsafe(this.capacity);
    this.length = 0;
    return written;
  }
}

const BASE32 = asciiBytes('abcdefghijklmnopqrstuvwxyz234567');
const BASE32_SORTABLE = asciiBytes('234567abcdefghijklmnopqrstuvwxyz');
const DID_BODY_CHARS = 24;
const TWO_POW_30 = 2 ** 30;
const ASCII_ZERO = 48;

function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

/** The 24 base32 characters after "did:plc:" of every user, back to back. */
function didBodies(seed: number, users: number): Uint8Array {
  const out = new LineWriter(users * DID_BODY_CHARS);
  for (let user = 0; user < users; user++) {
    for (let lane = 0; lane < 4; lane++) out.base32(hash32(seed, user, lane), 6, BASE32);
  }
  return out.takeBytes();
}

/** A TID: 53 bits of microseconds then 10 bits of clock id, base32-sortable, 13 characters. */
function writeTid(out: LineWriter, micros: number, clockId: number): void {
  const high = Math.floor(micros / TWO_POW_30);
  out.base32(high, 5, BASE32_SORTABLE);
  out.base32(micros - high * TWO_POW_30, 6, BASE32_SORTABLE);
  out.base32(clockId, 2, BASE32_SORTABLE);
}

/**
 * A CIDv1 (dag-cbor, sha-256) in base32 from 9 random words. The prefix "bafyrei" leaves
 * 3 digest bits for the next character, and the last one carries 3 bits then 2 zero bits.
 */
function writeCid(out: LineWriter, words: Uint32Array): void {
  const first = words[0]!;
  out.ascii('bafyrei');
  out.byte(BASE32[first & 7]!);
  for (let i = 1; i < 9; i++) out.base32(words[i]!, 6, BASE32);
  out.base32(first >>> 3, 2, BASE32);
  out.byte(BASE32[((first >>> 13) & 7) << 2]!);
}

/** RFC 3339 with milliseconds; the date-and-minute prefix is reused while the minute lasts. */
class IsoClock {
  private minute = Number.NaN;
  private prefix: Uint8Array = new Uint8Array(0);

  write(out: LineWriter, micros: number): void {
    const ms = Math.floor(micros / US_PER_MS);
    const minute = Math.floor(ms / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.prefix = asciiBytes(new Date(minute * 60_000).toISOString().slice(0, 17));
    }
    out.copy(this.prefix, 0, this.prefix.length);
    const msOfMinute = ms - minute * 60_000;
    const second = Math.floor(msOfMinute / 1000);
    const milli = msOfMinute - second * 1000;
    out.byte(ASCII_ZERO + Math.floor(second / 10));
    out.byte(ASCII_ZERO + (second % 10));
    out.byte(46); // '.'
    out.byte(ASCII_ZERO + Math.floor(milli / 100));
    out.byte(ASCII_ZERO + (Math.floor(milli / 10) % 10));
    out.byte(ASCII_ZERO + (milli % 10));
    out.byte(90); // 'Z'
  }
}

// ---------------------------------------------------------------------------
// Time: a diurnal activity curve, and exact-count schedules along it

function activityAt(timeUs: number): number {
  const hour = (timeUs / US_PER_HOUR) % 24;
  return 1 + DIURNAL_AMPLITUDE * Math.cos((2 * Math.PI * (hour - DIURNAL_PEAK_HOUR_UTC)) / 24);
}

/** Maps times to the share of the window's activity before them, and back (per minute, linear). */
class DiurnalTimeline {
  private readonly cumulative: Float64Array;

  constructor(
    private readonly startUs: number,
    private readonly endUs: number,
  ) {
    const minutes = Math.ceil((endUs - startUs) / US_PER_MINUTE);
    this.cumulative = new Float64Array(minutes + 1);
    for (let i = 0; i < minutes; i++) {
      const from = startUs + i * US_PER_MINUTE;
      const to = Math.min(endUs, from + US_PER_MINUTE);
      this.cumulative[i + 1] = this.cumulative[i]! + activityAt((from + to) / 2) * (to - from);
    }
  }

  fractionAt(timeUs: number): number {
    const offset = Math.min(Math.max(timeUs, this.startUs), this.endUs) - this.startUs;
    const i = Math.min(Math.floor(offset / US_PER_MINUTE), this.cumulative.length - 2);
    const within = this.cumulative[i]! + activityAt(this.startUs + (i + 0.5) * US_PER_MINUTE) * (offset - i * US_PER_MINUTE);
    return Math.min(1, within / this.cumulative[this.cumulative.length - 1]!);
  }

  timeAt(fraction: number): number {
    const target = fraction * this.cumulative[this.cumulative.length - 1]!;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (high - low > 1) {
      const middle = (low + high) >>> 1;
      if (this.cumulative[middle]! <= target) low = middle;
      else high = middle;
    }
    const from = this.startUs + low * US_PER_MINUTE;
    const span = this.cumulative[high]! - this.cumulative[low]!;
    const to = Math.min(this.endUs, from + US_PER_MINUTE);
    return span > 0 ? from + ((target - this.cumulative[low]!) / span) * (to - from) : from;
  }
}

/**
 * Exactly `count` event times between two times, ascending, spread like a Poisson process on
 * the diurnal curve: the next of k sorted uniforms above p is 1 - (1 - p) * U^(1/k).
 */
class EventSchedule {
  nextUs = Number.POSITIVE_INFINITY;
  private position = 0;
  private readonly fromFraction: number;
  private readonly spanFraction: number;

  constructor(
    private remaining: number,
    private readonly rng: Rng,
    private readonly timeline: DiurnalTimeline,
    fromUs: number,
    toUs: number,
  ) {
    this.fromFraction = timeline.fractionAt(fromUs);
    this.spanFraction = timeline.fractionAt(toUs) - this.fromFraction;
    this.advance();
  }

  advance(): void {
    if (this.remaining === 0) {
      this.nextUs = Number.POSITIVE_INFINITY;
      return;
    }
    this.position = 1 - (1 - this.position) * this.rng.float() ** (1 / this.remaining);
    this.remaining--;
    this.nextUs = this.timeline.timeAt(this.fromFraction + this.spanFraction * this.position);
  }
}

type PendingAction = 'activatePost' | 'unlike' | 'deletePost';

interface PendingEvent {
  atUs: number;
  order: number;
  action: PendingAction;
  user: number;
  post: number;
  /** When the like's record key was minted, for an unlike. */
  rkeyUs: number;
}

/** Min-heap of events due later, by time then insertion order (so output is deterministic). */
class PendingQueue {
  private readonly heap: PendingEvent[] = [];
  private pushed = 0;

  get nextUs(): number {
    return this.heap[0]?.atUs ?? Number.POSITIVE_INFINITY;
  }

  push(atUs: number, action: PendingAction, user: number, post: number, rkeyUs = 0): void {
    this.heap.push({ atUs, order: this.pushed++, action, user, post, rkeyUs });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): PendingEvent {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < this.heap.length && this.before(left, smallest)) smallest = left;
        if (right < this.heap.length && this.before(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top;
  }

  private before(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.atUs < b.atUs || (a.atUs === b.atUs && a.order < b.order);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = a;
  }
}

// ---------------------------------------------------------------------------
// The world: users with communities, and posts with authors, appeal and life cycle

interface Population {
  /** DID_BODY_CHARS bytes per user: the DID after "did:plc:". */
  didBodies: Uint8Array;
  clockIds: Uint16Array;
  primaryCommunity: Int32Array;
  /** -1 for users of one community. */
  secondCommunity: Int32Array;
  active: Uint8Array;
  /** Relative like (and repost) activity, and its sampler. */
  activity: Float64Array;
  likers: AliasTable;
}

const POST_UNCREATED = 0;
const POST_PENDING = 1;
const POST_ACTIVE = 2;
const POST_GONE = 3;

interface Catalog {
  author: Uint32Array;
  community: Uint32Array;
  /** Index of the post within its community's tree. */
  communitySlot: Uint32Array;
  appeal: Float64Array;
  rkeyUs: Float64Array;
  activatedUs: Float64Array;
  state: Uint8Array;
  /** Post ids by author (CSR), to take an account's posts down with it. */
  authorStart: Uint32Array;
  postsByAuthor: Uint32Array;
  /** Per community, its tree slot to post id. */
  communityPosts: Uint32Array[];
  /** Per community, posts weighted for fresh likes and for digging into the backlog. */
  freshTrees: WeightedSlots[];
  backlogTrees: WeightedSlots[];
  networkTree: WeightedSlots;
}

function buildPopulation(options: ResolvedDatasetOptions, rng: Rng): Population {
  const { users, communities, seed } = options;
  const communityPicker = new AliasTable(zipfWeights(communities, COMMUNITY_SIZE_ZIPF));
  const primaryCommunity = new Int32Array(users);
  const secondCommunity = new Int32Array(users).fill(-1);
  const activity = new Float64Array(users);
  for (let user = 0; user < users; user++) {
    primaryCommunity[user] = communityPicker.sample(rng);
    if (communities > 1 && rng.float() < SECOND_COMMUNITY_SHARE) {
      secondCommunity[user] = otherCommunity(primaryCommunity[user]!, communities, rng);
    }
    activity[user] = rng.pareto(USER_ACTIVITY_ALPHA, USER_ACTIVITY_CAP);
  }
  capShare(activity, (USER_MAX_POST_COVERAGE * options.posts) / (options.likes * (1 + options.repostShare)));
  return {
    didBodies: didBodies(seed, users),
    clockIds: Uint16Array.from({ length: users }, (_, user) => hash32(seed, user, 4) & 1023),
    primaryCommunity,
    secondCommunity,
    active: new Uint8Array(users).fill(1),
    activity,
    likers: new AliasTable(activity),
  };
}

function zipfWeights(n: number, exponent: number): Float64Array {
  return Float64Array.from({ length: n }, (_, rank) => (rank + 1) ** -exponent);
}

function otherCommunity(community: number, communities: number, rng: Rng): number {
  const other = rng.below(communities - 1);
  return other >= community ? other + 1 : other;
}

/** Lowers the largest weights until none is more than `maxShare` of the total. */
function capShare(weights: Float64Array, maxShare: number): void {
  for (let pass = 0; pass < 8; pass++) {
    const cap = maxShare * weights.reduce((sum, w) => sum + w, 0);
    let capped = false;
    weights.forEach((w, i) => {
      if (w > cap) {
        weights[i] = cap;
        capped = true;
      }
    });
    if (!capped) return;
  }
}

/**
 * Each user's share of likes looked for in their communities: the usual share, less for users
 * so active they would otherwise run out of community posts they have not liked yet.
 */
function communityLikeShares(options: ResolvedDatasetOptions, population: Population, catalog: Catalog): Float32Array {
  const interactions = options.likes * (1 + options.repostShare);
  const totalActivity = population.activity.reduce((sum, w) => sum + w, 0);
  const postsIn = (community: number) => (community >= 0 ? catalog.communityPosts[community]!.length : 0);
  return Float32Array.from(population.activity, (activity, user) => {
    const expected = (interactions * activity) / totalActivity;
    const supply = postsIn(population.primaryCommunity[user]!) + postsIn(population.secondCommunity[user]!);
    return Math.min(IN_COMMUNITY_LIKE_SHARE, (MAX_COMMUNITY_COVERAGE * supply) / expected);
  });
}

/** One of the user's communities, for a post or a like: mostly the first. */
function pickOwnCommunity(population: Population, user: number, rng: Rng): number {
  const second = population.secondCommunity[user]!;
  return second >= 0 && rng.float() < SECOND_COMMUNITY_ACTIVITY_SHARE ? second : population.primaryCommunity[user]!;
}

function buildCatalog(options: ResolvedDatasetOptions, population: Population, rng: Rng): Catalog {
  const { posts, users, communities } = options;
  const authorPicker = new AliasTable(Float64Array.from({ length: users }, () => rng.pareto(AUTHOR_ACTIVITY_ALPHA, AUTHOR_ACTIVITY_CAP)));
  const author = new Uint32Array(posts);
  const community = new Uint32Array(posts);
  const communitySlot = new Uint32Array(posts);
  const appeal = new Float64Array(posts);
  const communitySizes = new Uint32Array(communities);
  for (let post = 0; post < posts; post++) {
    author[post] = authorPicker.sample(rng);
    community[post] = pickOwnCommunity(population, author[post]!, rng);
    communitySlot[post] = communitySizes[community[post]!]!++;
    appeal[post] = rng.pareto(POST_APPEAL_ALPHA, POST_APPEAL_CAP);
  }
  const communityPosts = Array.from(communitySizes, (size) => new Uint32Array(size));
  for (let post = 0; post < posts; post++) communityPosts[community[post]!]![communitySlot[post]!] = post;
  const { start: authorStart, items: postsByAuthor } = groupBy(author, users);
  return {
    author,
    community,
    communitySlot,
    appeal,
    rkeyUs: new Float64Array(posts),
    activatedUs: new Float64Array(posts),
    state: new Uint8Array(posts),
    authorStart,
    postsByAuthor,
    communityPosts,
    freshTrees: Array.from(communitySizes, (size) => new WeightedSlots(size)),
    backlogTrees: Array.from(communitySizes, (size) => new WeightedSlots(size)),
    networkTree: new WeightedSlots(posts),
  };
}

/** Compressed rows: the indices i with keys[i] === k are items[start[k] .. start[k + 1]). */
function groupBy(keys: Uint32Array, keyCount: number): { start: Uint32Array; items: Uint32Array } {
  const start = new Uint32Array(keyCount + 1);
  for (const key of keys) start[key + 1]!++;
  for (let k = 0; k < keyCount; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, keyCount);
  const items = new Uint32Array(keys.length);
  keys.forEach((key, i) => (items[fill[key]!++] = i));
  return { start, items };
}

// ---------------------------------------------------------------------------
// Malformed lines: built rarely, so from parsed objects

interface LikeFrame {
  did: unknown;
  time_us: unknown;
  kind: string;
  commit: { record: { subject: { uri: unknown } } };
}

const UNKNOWN_KINDS = ['sync', 'label', 'experimental'];
const NOT_POST_PATHS = ['app.bsky.feed.generator/whats-hot', 'app.bsky.actor.profile/self', 'app.bsky.graph.list/3lbqz5bq4vk2x'];

/** Interop vector lines: one case a line, never trimmed; `#` starts a comment, blanks are skipped. */
function readInvalidVectors(file: string): string[] {
  const url = new URL(file, INTEROP_SYNTAX_DIR);
  try {
    return readFileSync(url, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
  } catch (cause) {
    throw new Error(`dataset: read interop vectors ${url.pathname} (malformedShare 0 needs none)`, { cause });
  }
}

// ---------------------------------------------------------------------------
// The stream

class StreamGenerator {
  private readonly rng: Rng;
  private readonly population: Population;
  private readonly catalog: Catalog;
  private readonly communityLikeShare: Float32Array;
  private readonly pending = new PendingQueue();
  private readonly filter: PairFilter;
  private readonly iso = new IsoClock();
  private readonly cidWords = new Uint32Array(9);
  private readonly originUs: number;
  private readonly postSchedule: EventSchedule;
  private readonly likeSchedule: EventSchedule;
  private readonly repostSchedule: EventSchedule;
  private readonly accountSchedule: EventSchedule;
  private readonly invalidDids: string[] = [];
  private readonly invalidUris: string[] = [];
  private nextPost = 0;
  private lastSeq = 0;
  /** The user of the last successful pick (the post is returned). */
  private pickedUser = 0;
  /** Set after a valid line when a malformed one follows it, at that line's time. */
  private malformedAtUs = Number.NaN;

  constructor(
    private readonly options: ResolvedDatasetOptions,
    private readonly stats: DatasetStats,
    private readonly out: LineWriter,
  ) {
    this.rng = new Rng(options.seed);
    this.population = buildPopulation(options, this.rng);
    this.catalog = buildCatalog(options, this.population, this.rng);
    this.communityLikeShare = communityLikeShares(options, this.population, this.catalog);
    const reposts = Math.round(options.likes * options.repostShare);
    this.filter = new PairFilter(options.likes + reposts);
    if (options.malformedShare > 0) {
      this.invalidDids = readInvalidVectors('did_syntax_invalid.txt');
      this.invalidUris = readInvalidVectors('aturi_syntax_invalid.txt');
    }

    const windowUs = options.days * US_PER_DAY;
    const startUs = options.endTimeUs - windowUs;
    this.originUs = startUs - Math.min(POST_PRELUDE_US, windowUs * POST_PRELUDE_MAX_WINDOW_SHARE);
    const timeline = new DiurnalTimeline(this.originUs, options.endTimeUs);
    const schedule = (count: number, fromUs: number) => new EventSchedule(count, this.rng, timeline, fromUs, options.endTimeUs);
    this.postSchedule = schedule(options.posts, this.originUs);
    this.likeSchedule = schedule(options.likes, startUs);
    this.repostSchedule = schedule(reposts, startUs);
    this.accountSchedule = schedule(Math.round(options.users * options.accountEventShare), startUs);
  }

  /** Writes the next line (without newline); false once the stream is over. */
  writeLine(): boolean {
    this.out.reserve(MAX_EVENT_BYTES);
    if (!Number.isNaN(this.malformedAtUs)) {
      this.writeMalformed(this.malformedAtUs);
      this.malformedAtUs = Number.NaN;
      this.stats.lines++;
      return true;
    }
    for (;;) {
      const atUs = Math.min(
        this.pending.nextUs,
        this.postSchedule.nextUs,
        this.likeSchedule.nextUs,
        this.repostSchedule.nextUs,
        this.accountSchedule.nextUs,
      );
      // Unlikes and deletes due after the end stay pending forever.
      if (atUs > this.options.endTimeUs) return false;
      if (!this.writeEventAt(atUs)) continue;
      this.stats.lines++;
      if (this.rng.float() < this.options.malformedShare) this.malformedAtUs = atUs;
      return true;
    }
  }

  /** Writes the event due at `atUs`; false when it had nothing to say (e.g. its account is gone). */
  private writeEventAt(atUs: number): boolean {
    if (this.pending.nextUs === atUs) return this.writePending(this.pending.pop());
    if (this.postSchedule.nextUs === atUs) {
      this.postSchedule.advance();
      return this.writePost(atUs);
    }
    if (this.likeSchedule.nextUs === atUs) {
      this.likeSchedule.advance();
      this.writeLike(atUs);
      return true;
    }
    if (this.repostSchedule.nextUs === atUs) {
      this.repostSchedule.advance();
      this.writeRepost(atUs);
      return true;
    }
    this.accountSchedule.advance();
    return this.writeAccountEvent(atUs);
  }

  private writePending(event: PendingEvent): boolean {
    switch (event.action) {
      case 'activatePost':
        this.activatePost(event.post, event.atUs);
        return false;
      case 'unlike':
        if (!this.population.active[event.user]) return false;
        this.stats.counts.unlike++;
        this.writeDelete(event.user, event.atUs, LIKE_COLLECTION, event.rkeyUs);
        return true;
      case 'deletePost':
        return this.deletePost(event.post, event.atUs);
    }
  }

  // -- posts

  private writePost(atUs: number): boolean {
    const { catalog } = this;
    const post = this.nextPost++;
    const author = catalog.author[post]!;
    if (!this.population.active[author]) return false;
    const createdUs = this.createdUs(atUs);
    this.startPostLife(post, author, atUs, createdUs);
    const parent = this.rng.float() < REPLY_SHARE ? this.replyParent(catalog.community[post]!) : -1;
    if (parent >= 0) catalog.appeal[post]! *= REPLY_APPEAL_FACTOR;
    this.stats.counts.post++;
    this.writePostRecord(author, post, atUs, createdUs, parent);
    return true;
  }

  /** Created now, visible shortly, maybe deleted later. */
  private startPostLife(post: number, author: number, atUs: number, createdUs: number): void {
    this.catalog.rkeyUs[post] = createdUs;
    this.catalog.state[post] = POST_PENDING;
    this.pending.push(atUs + this.visibilityDelayUs(), 'activatePost', author, post);
    if (this.rng.float() < this.options.postDeleteShare) {
      const deleteUs = atUs + POST_DELETE_MIN_DELAY_US + this.rng.exponential(POST_DELETE_MEAN_DELAY_US);
      this.pending.push(deleteUs, 'deletePost', author, post);
    }
  }

  /** A post create; `parent` is the post replied to, or -1. */
  private writePostRecord(author: number, post: number, atUs: number, createdUs: number, parent: number): void {
    const { out } = this;
    const community = this.catalog.community[post]!;
    this.writeCreateHead(author, atUs, createdUs, POST_COLLECTION, createdUs);
    out.ascii('","langs":["');
    out.ascii(communityLanguage(community));
    out.ascii('"],');
    if (parent >= 0) {
      out.ascii('"reply":{"parent":');
      this.writeStrongRef(parent);
      out.ascii(',"root":');
      this.writeStrongRef(parent);
      out.ascii('},');
    }
    out.ascii('"text":"');
    this.writePostText(community);
    out.ascii('"},"cid":"');
    this.writePostCid(post);
    out.ascii('"}}');
  }

  private visibilityDelayUs(): number {
    return Math.min(VISIBILITY_DELAY_MAX_US, VISIBILITY_DELAY_MIN_US + this.rng.exponential(VISIBILITY_DELAY_MEAN_US));
  }

  /** Replies go to a visible post of the same community; -1 when there is none. */
  private replyParent(community: number): number {
    const slot = this.catalog.freshTrees[community]!.sample(this.rng);
    if (slot < 0) return -1;
    const parent = this.catalog.communityPosts[community]![slot]!;
    return this.catalog.state[parent] === POST_ACTIVE ? parent : -1;
  }

  private writePostText(community: number): void {
    const { out } = this;
    out.byte(35); // '#'
    out.ascii(communityTopic(community));
    const words = 3 + this.rng.below(12);
    for (let i = 0; i < words; i++) {
      out.byte(32); // ' '
      out.ascii(WORDS[this.rng.below(WORDS.length)]!);
    }
  }

  private activatePost(post: number, atUs: number): void {
    const { catalog } = this;
    if (catalog.state[post] !== POST_PENDING || !this.population.active[catalog.author[post]!]) return;
    catalog.state[post] = POST_ACTIVE;
    catalog.activatedUs[post] = atUs;
    this.reweighPost(post, 1);
  }

  /** Adds (sign 1) or removes (sign -1) a visible post's weights in its community and the network. */
  private reweighPost(post: number, sign: 1 | -1): void {
    const { catalog } = this;
    const ageUs = catalog.activatedUs[post]! - this.originUs;
    const appeal = catalog.appeal[post]!;
    const community = catalog.community[post]!;
    const slot = catalog.communitySlot[post]!;
    catalog.freshTrees[community]!.add(slot, sign * appeal * Math.exp(ageUs / FRESH_DECAY_US));
    catalog.backlogTrees[community]!.add(slot, sign * appeal * Math.exp(ageUs / BACKLOG_DECAY_US));
    catalog.networkTree.add(post, sign * appeal * Math.exp(ageUs / NETWORK_DECAY_US));
  }

  private takeDown(post: number): void {
    if (this.catalog.state[post] === POST_ACTIVE) this.reweighPost(post, -1);
    this.catalog.state[post] = POST_GONE;
  }

  private deletePost(post: number, atUs: number): boolean {
    const { catalog } = this;
    if (catalog.state[post] === POST_GONE) return false;
    this.takeDown(post);
    this.stats.counts.postDelete++;
    this.writeDelete(catalog.author[post]!, atUs, POST_COLLECTION, catalog.rkeyUs[post]!);
    return true;
  }

  // -- likes and reposts

  private writeLike(atUs: number): void {
    const post = this.pickInteraction(LIKE_SALT);
    const user = this.pickedUser;
    const createdUs = this.createdUs(atUs);
    if (this.rng.float() < this.options.unlikeShare) {
      this.pending.push(atUs + this.unlikeDelayUs(), 'unlike', user, post, createdUs);
    }
    this.stats.counts.like++;
    if (this.inCommunity(user, post)) this.stats.likesInCommunity++;
    this.writeSubjectEvent(LIKE_COLLECTION, user, post, atUs, createdUs);
  }

  private writeRepost(atUs: number): void {
    const post = this.pickInteraction(REPOST_SALT);
    this.stats.counts.repost++;
    this.writeSubjectEvent(REPOST_COLLECTION, this.pickedUser, post, atUs, this.createdUs(atUs));
  }

  private unlikeDelayUs(): number {
    return this.rng.exponential(this.rng.float() < QUICK_UNLIKE_SHARE ? QUICK_UNLIKE_MEAN_US : LATE_UNLIKE_MEAN_US);
  }

  private inCommunity(user: number, post: number): boolean {
    const community = this.catalog.community[post]!;
    return community === this.population.primaryCommunity[user] || community === this.population.secondCommunity[user];
  }

  /** Draws an active user and a visible post they have not yet liked (or reposted, per salt). */
  private pickInteraction(salt: number): number {
    for (let attempt = 0; attempt < USER_TRIES_PER_INTERACTION; attempt++) {
      const user = this.population.likers.sample(this.rng);
      if (!this.population.active[user]) continue;
      const post = this.pickPostFor(user, salt);
      if (post >= 0) {
        this.pickedUser = user;
        return post;
      }
    }
    throw new Error('dataset: cannot place a like on a post its user has not liked yet; raise posts or users');
  }

  /**
   * Mostly from one of the user's communities, fresh posts first, then its backlog; from the
   * network as a whole when the user looks beyond, or has liked what the community offers.
   */
  private pickPostFor(user: number, salt: number): number {
    const { catalog, rng } = this;
    const community = rng.float() < this.communityLikeShare[user]! ? pickOwnCommunity(this.population, user, rng) : -1;
    const communityTries = community >= 0 ? FRESH_TRIES_PER_USER + BACKLOG_TRIES_PER_USER : 0;
    for (let attempt = 0; attempt < communityTries + NETWORK_TRIES_PER_USER; attempt++) {
      const inCommunity = attempt < communityTries;
      const tree = !inCommunity
        ? catalog.networkTree
        : attempt < FRESH_TRIES_PER_USER
          ? catalog.freshTrees[community]!
          : catalog.backlogTrees[community]!;
      const slot = tree.sample(rng);
      if (slot < 0) continue;
      const post = inCommunity ? catalog.communityPosts[community]![slot]! : slot;
      if (catalog.state[post] === POST_ACTIVE && this.filter.addIfNew(user, post, salt)) return post;
    }
    return -1;
  }

  // -- accounts

  private writeAccountEvent(atUs: number): boolean {
    const user = this.rng.below(this.options.users);
    if (!this.population.active[user]) return false;
    this.stats.counts.account++;
    const status = this.rng.float() < ACCOUNT_ACTIVE_SHARE ? undefined : this.pickOne(ACCOUNT_STATUSES);
    if (status !== undefined) this.deactivate(user);
    this.writeAccountRecord(user, atUs, status);
    return true;
  }

  /** An account event: active without a status, or inactive with one. */
  private writeAccountRecord(user: number, atUs: number, status: string | undefined): void {
    const { out } = this;
    this.writeEventHead(user, atUs);
    out.ascii(',"kind":"account","account":{"active":');
    out.ascii(status === undefined ? 'true' : 'false');
    out.ascii(',"did":"');
    this.writeDid(user);
    out.ascii('","seq":');
    out.integer(this.nextSeq(atUs));
    if (status !== undefined) {
      out.ascii(',"status":"');
      out.ascii(status);
      out.byte(34); // '"'
    }
    out.ascii(',"time":"');
    this.iso.write(out, this.createdUs(atUs));
    out.ascii('"}}');
  }

  /** A gone account stops acting, and its posts stop collecting likes. */
  private deactivate(user: number): void {
    const { catalog } = this;
    this.population.active[user] = 0;
    for (let i = catalog.authorStart[user]!; i < catalog.authorStart[user + 1]!; i++) {
      const post = catalog.postsByAuthor[i]!;
      if (catalog.state[post] !== POST_UNCREATED) this.takeDown(post);
    }
  }

  /** Firehose sequence numbers grow with time and never repeat. */
  private nextSeq(atUs: number): number {
    const bySecond = FIREHOSE_SEQ_BASE + Math.floor(((atUs - this.originUs) / US_PER_SECOND) * FIREHOSE_EVENTS_PER_SECOND);
    this.lastSeq = Math.max(bySecond, this.lastSeq + 1);
    return this.lastSeq;
  }

  // -- line pieces

  /** `{"did":"…","time_us":…` */
  private writeEventHead(user: number, atUs: number): void {
    this.out.ascii('{"did":"');
    this.writeDid(user);
    this.out.ascii('","time_us":');
    this.out.integer(this.stampUs(atUs));
  }

  /** A commit event up to its rev: `{"did":…,"time_us":…,"kind":"commit","commit":{"rev":"…"` */
  private writeCommitHead(user: number, atUs: number, createdUs: number): void {
    this.writeEventHead(user, atUs);
    this.out.ascii(',"kind":"commit","commit":{"rev":"');
    writeTid(this.out, this.revUs(createdUs, atUs), this.population.clockIds[user]!);
    this.out.byte(34); // '"'
  }

  /** A create commit up to its record's createdAt value, left open for the record's other fields. */
  private writeCreateHead(user: number, atUs: number, createdUs: number, collection: string, rkeyUs: number): void {
    const { out } = this;
    this.writeCommitHead(user, atUs, createdUs);
    out.ascii(',"operation":"create","collection":"');
    out.ascii(collection);
    out.ascii('","rkey":"');
    writeTid(out, rkeyUs, this.population.clockIds[user]!);
    out.ascii('","record":{"$type":"');
    out.ascii(collection);
    out.ascii('","createdAt":"');
    this.iso.write(out, createdUs);
  }

  /** A like or repost: the record key is minted with createdAt. */
  private writeSubjectEvent(collection: string, user: number, post: number, atUs: number, createdUs: number): void {
    const { out } = this;
    this.writeCreateHead(user, atUs, createdUs, collection, createdUs);
    out.ascii('","subject":');
    this.writeStrongRef(post);
    out.ascii('},"cid":"');
    this.writeRandomCid();
    out.ascii('"}}');
  }

  private writeDelete(user: number, atUs: number, collection: string, rkeyUs: number): void {
    const { out } = this;
    this.writeCommitHead(user, atUs, this.createdUs(atUs));
    out.ascii(',"operation":"delete","collection":"');
    out.ascii(collection);
    out.ascii('","rkey":"');
    writeTid(out, rkeyUs, this.population.clockIds[user]!);
    out.ascii('"}}');
  }

  /** `{"cid":"…","uri":"at://…/app.bsky.feed.post/…"}` */
  private writeStrongRef(post: number): void {
    const { out } = this;
    const author = this.catalog.author[post]!;
    out.ascii('{"cid":"');
    this.writePostCid(post);
    out.ascii('","uri":"at://');
    this.writeDid(author);
    out.ascii('/app.bsky.feed.post/');
    writeTid(out, this.catalog.rkeyUs[post]!, this.population.clockIds[author]!);
    out.ascii('"}');
  }

  private writeDid(user: number): void {
    this.out.ascii('did:plc:');
    this.out.copy(this.population.didBodies, user * DID_BODY_CHARS, DID_BODY_CHARS);
  }

  /** A post's CID is a hash of its id, so every reference to it agrees. */
  private writePostCid(post: number): void {
    for (let lane = 0; lane < 9; lane++) this.cidWords[lane] = hash32(this.options.seed, post, 16 + lane);
    writeCid(this.out, this.cidWords);
  }

  private writeRandomCid(): void {
    for (let i = 0; i < 9; i++) this.cidWords[i] = this.rng.uint32();
    writeCid(this.out, this.cidWords);
  }

  /** Jetstream's receive time, sometimes stamped a little early: time_us steps back now and then. */
  private stampUs(atUs: number): number {
    const jitterUs = this.rng.float() < JITTER_SHARE ? Math.min(JITTER_MAX_US, this.rng.exponential(JITTER_MEAN_US)) : 0;
    return Math.floor(atUs - jitterUs);
  }

  /** The client's createdAt, a little before Jetstream saw the event (whole microseconds). */
  private createdUs(atUs: number): number {
    return Math.floor(atUs - Math.min(CREATED_AT_LAG_MAX_US, CREATED_AT_LAG_MIN_US + this.rng.exponential(CREATED_AT_LAG_MEAN_US)));
  }

  /** The repo revision: committed by the PDS between the client's createdAt and Jetstream. */
  private revUs(createdUs: number, atUs: number): number {
    return Math.floor(createdUs + (atUs - createdUs) * (0.3 + 0.6 * this.rng.float()));
  }

  // -- malformed

  /** A like-shaped line that touches no state, broken in one of several ways. */
  private writeMalformed(atUs: number): void {
    const { out } = this;
    const kind = MALFORMED_KINDS[this.rng.below(MALFORMED_KINDS.length)]!;
    this.stats.counts.malformed++;
    this.stats.malformed[kind]++;
    const start = out.length;
    const user = this.rng.below(this.options.users);
    const post = this.rng.below(Math.max(1, this.nextPost));
    this.writeSubjectEvent(LIKE_COLLECTION, user, post, atUs, this.createdUs(atUs));
    if (kind === 'truncated') {
      out.length = start + 1 + this.rng.below(out.length - start - 1);
      return;
    }
    const frame = JSON.parse(out.textSince(start)) as LikeFrame;
    out.length = start;
    this.breakFrame(frame, kind);
    out.utf8(JSON.stringify(frame));
  }

  private breakFrame(frame: LikeFrame, kind: Exclude<MalformedKind, 'truncated'>): void {
    const subject = frame.commit.record.subject;
    switch (kind) {
      case 'timeAsString':
        frame.time_us = String(frame.time_us);
        return;
      case 'uriAsNumber':
        subject.uri = this.rng.uint32();
        return;
      case 'invalidDid':
        frame.did = this.pickOne(this.invalidDids);
        return;
      case 'invalidUri':
        subject.uri = this.pickOne(this.invalidUris);
        return;
      case 'unknownKind':
        frame.kind = this.pickOne(UNKNOWN_KINDS);
        return;
      case 'notPostSubject':
        subject.uri = `at://${String(frame.did)}/${this.pickOne(NOT_POST_PATHS)}`;
        return;
    }
  }

  private pickOne<T>(items: readonly T[]): T {
    return items[this.rng.below(items.length)]!;
  }
}

// ---------------------------------------------------------------------------
// Post text: a topic tag per community, and plain ASCII words (safe inside JSON as they are)

const TOPICS = [
  'art', 'books', 'gardening', 'jazz', 'rustlang', 'typescript', 'birds', 'astronomy', 'cooking', 'cycling',
  'football', 'knitting', 'photography', 'politics', 'science', 'gaming', 'anime', 'climate', 'history', 'math',
  'running', 'film', 'music', 'design', 'linux', 'coffee', 'chess', 'hiking', 'fashion', 'poetry',
];
const LANGUAGES = ['en', 'en', 'en', 'en', 'en', 'en', 'ja', 'pt', 'de', 'es', 'fr', 'ko'];
const WORDS = [
  'the', 'a', 'new', 'today', 'really', 'love', 'this', 'thread', 'look', 'at', 'my', 'first', 'week', 'finally',
  'great', 'little', 'more', 'why', 'how', 'people', 'think', 'good', 'morning', 'night', 'photo', 'post', 'read',
  'just', 'made', 'found', 'best', 'ever', 'can', 'we', 'talk', 'about', 'it', 'again', 'so', 'much', 'fun', 'here',
];

function communityTopic(community: number): string {
  const round = Math.floor(community / TOPICS.length);
  return TOPICS[community % TOPICS.length]! + (round > 0 ? String(round) : '');
}

function communityLanguage(community: number): string {
  return LANGUAGES[mix32(community) % LANGUAGES.length]!;
}
