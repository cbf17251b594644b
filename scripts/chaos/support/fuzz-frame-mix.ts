/**
 * A seeded mix of valid Jetstream lines and fuzzed frames, each fuzzed frame with the
 * outcome src/ingest/parse.ts must give it, so the scenario can compare counts exactly.
 *
 * Bad frames are rejected with a known reason. Two more kinds ride along and are not
 * counted as bad: frames that are well-formed but unwanted (identity events, other
 * collections, updates: parse "ignores" them, they only move the cursor), and likes
 * whose record key is one of the interop vectors' invalid TIDs. Those are valid record
 * keys, and the PDS checks only record-key syntax for likes, so such likes are real and
 * must be stored.
 *
 * Fuzzed likes are fresh (new actor, new record key): if one were wrongly stored, the
 * stored likes would no longer equal the valid ones.
 */
import { Rng } from '../../../testkit/dataset/random.js';
import type { RejectReason } from '../../../src/ingest/events.js';
import { syntaxVectors } from '../../../testkit/fixtures.js';
import type { Frame } from '../../../testkit/standins/frame-list-server.js';

export const BAD_CATEGORIES = ['truncated', 'wrong_type', 'interop_identifier', 'binary', 'invalid_utf8', 'huge_string', 'deep_nesting', 'oversized'] as const;
export type BadCategory = (typeof BAD_CATEGORIES)[number];

/** Relative frequency; the big frames are rare so a full run moves about a gigabyte, not ten. */
const WEIGHTS: Record<BadCategory, number> = {
  truncated: 20,
  wrong_type: 35,
  interop_identifier: 25,
  binary: 10,
  invalid_utf8: 5,
  huge_string: 3,
  deep_nesting: 3,
  oversized: 1,
};
/** Extra frames with a non-rejected outcome, per bad frame. */
const IGNORED_SHARE = 0.03;
const NON_TID_LIKE_SHARE = 0.01;

export type Expected =
  | { outcome: 'valid' }
  | { outcome: 'rejected'; category: BadCategory; reason: RejectReason }
  | { outcome: 'ignored' }
  /** A like that must be stored; `like` is its fingerprint (actor|rkey|author|post rkey). */
  | { outcome: 'stored'; like: string };

export interface MixedFrame {
  frame: Frame;
  expected: Expected;
}

export interface MixOptions {
  validLines: readonly string[];
  badFrames: number;
  seed: number;
  /** The service's INGEST_MAX_FRAME_BYTES. */
  maxFrameBytes: number;
}

/** The same sequence every time for the same options: called once to count, once per connection to send. */
export function* fuzzMix(opts: MixOptions): Generator<MixedFrame> {
  const rng = new Rng(opts.seed);
  const fuzz = new FrameFuzzer(rng, opts.maxFrameBytes, postUrisOf(opts.validLines));
  const extraIgnored = Math.round(opts.badFrames * IGNORED_SHARE);
  const extraLikes = Math.round(opts.badFrames * NON_TID_LIKE_SHARE);
  let valid = opts.validLines.length;
  let other = opts.badFrames + extraIgnored + extraLikes;
  const remaining = { bad: opts.badFrames, ignored: extraIgnored, likes: extraLikes };
  let timeUs = firstTimeUs(opts.validLines);
  while (valid + other > 0) {
    if (rng.below(valid + other) < valid) {
      const line = opts.validLines[opts.validLines.length - valid--]!;
      timeUs = (JSON.parse(line) as { time_us: number }).time_us;
      yield { frame: { data: line, binary: false }, expected: { outcome: 'valid' } };
      continue;
    }
    const slot = rng.below(other--);
    if (slot < remaining.bad) {
      remaining.bad--;
      yield fuzz.bad(timeUs);
    } else if (slot < remaining.bad + remaining.ignored) {
      remaining.ignored--;
      yield fuzz.ignored(timeUs);
    } else {
      remaining.likes--;
      yield fuzz.nonTidLike(timeUs);
    }
  }
}

/** Builds one frame at a time from the shared RNG. */
class FrameFuzzer {
  private readonly vectors = {
    did: syntaxVectors('did_syntax_invalid'),
    aturi: syntaxVectors('aturi_syntax_invalid'),
    nsid: syntaxVectors('nsid_syntax_invalid'),
    rkey: syntaxVectors('recordkey_syntax_invalid'),
    tid: syntaxVectors('tid_syntax_invalid'),
  };
  private readonly categories: BadCategory[] = BAD_CATEGORIES.flatMap((c) => Array<BadCategory>(WEIGHTS[c]).fill(c));

  constructor(
    private readonly rng: Rng,
    private readonly maxFrameBytes: number,
    private readonly postUris: readonly string[],
  ) {}

  bad(timeUs: number): MixedFrame {
    const category = this.rng.pick(this.categories);
    const [data, reason, binary] = this.build(category, timeUs);
    return { frame: { data, binary }, expected: { outcome: 'rejected', category, reason } };
  }

  ignored(timeUs: number): MixedFrame {
    const like = this.like(timeUs);
    const frames: Array<() => object> = [
      () => ({ did: like.did, time_us: timeUs, kind: 'identity', identity: { did: like.did, handle: 'someone.test', seq: 5, time: '2026-07-04T00:00:00Z' } }),
      () => ({ ...like, commit: { ...like.commit, collection: 'app.bsky.graph.block' } }),
      () => ({ ...like, commit: { ...like.commit, operation: 'update' } }),
      // An invalid NSID as the collection is simply not one we want.
      () => ({ ...like, commit: { ...like.commit, collection: this.rng.pick(this.vectors.nsid) } }),
    ];
    return { frame: { data: JSON.stringify(this.rng.pick(frames)()), binary: false }, expected: { outcome: 'ignored' } };
  }

  nonTidLike(timeUs: number): MixedFrame {
    const like = this.like(timeUs);
    like.commit.rkey = this.rng.pick(this.vectors.tid);
    return { frame: { data: JSON.stringify(like), binary: false }, expected: { outcome: 'stored', like: fingerprintOf(like) } };
  }

  private build(category: BadCategory, timeUs: number): [string | Buffer, RejectReason, boolean] {
    const like = this.like(timeUs);
    switch (category) {
      case 'truncated': {
        const text = JSON.stringify(like);
        return [text.slice(0, 1 + this.rng.below(text.length - 1)), 'malformed_json', false];
      }
      case 'wrong_type': {
        const [change, reason] = this.rng.pick(WRONG_TYPES);
        return [JSON.stringify(change(like)), reason, false];
      }
      case 'interop_identifier':
        return this.interop(like);
      case 'binary':
        // Half random bytes, half a valid like sent as a binary frame: neither may be stored.
        return [this.rng.below(2) === 0 ? this.bytes(1 + this.rng.below(2048)) : Buffer.from(JSON.stringify(like)), 'binary_frame', true];
      case 'invalid_utf8': {
        // A valid like sent as text with one byte that cannot start a UTF-8 sequence.
        const bytes = Buffer.from(JSON.stringify(like));
        bytes[1 + this.rng.below(bytes.length - 2)] = 0xff;
        return [bytes, 'invalid_utf8', false];
      }
      case 'huge_string':
        return this.hugeString(like);
      case 'deep_nesting':
        return this.deepNesting(like);
      case 'oversized': {
        // A valid like padded with JSON whitespace past the limit: only the size check stops it.
        const text = JSON.stringify(like);
        const size = this.maxFrameBytes + 1 + this.rng.below(3 * this.maxFrameBytes);
        return [Buffer.from(text.slice(0, -1) + ' '.repeat(size - text.length) + '}'), 'oversized_frame', false];
      }
    }
  }

  private interop(like: LikeFrame): [string, RejectReason, boolean] {
    switch (this.rng.below(4)) {
      case 0:
        like.did = this.rng.pick(this.vectors.did);
        return [JSON.stringify(like), 'bad_did', false];
      case 1:
        like.commit.record.subject.uri = this.rng.pick(this.vectors.aturi);
        return [JSON.stringify(like), 'bad_subject_uri', false];
      case 2:
        like.commit.rkey = this.rng.pick(this.vectors.rkey);
        return [JSON.stringify(like), 'bad_rkey', false];
      default: {
        // An invalid NSID where a post URI names its collection.
        const [authority, , rkey] = like.commit.record.subject.uri.slice('at://'.length).split('/');
        like.commit.record.subject.uri = `at://${authority}/${this.rng.pick(this.vectors.nsid)}/${rkey}`;
        return [JSON.stringify(like), 'bad_subject_uri', false];
      }
    }
  }

  /**
   * Strings past every identifier's length limit (DIDs may be 2 KiB, AT-URIs 8 KiB) up to
   * the frame limit (log-uniform length, so most are small); the frame stays under it.
   */
  private hugeString(like: LikeFrame): [string, RejectReason, boolean] {
    const length = this.logUniform(8 * 1024 + 1, this.maxFrameBytes - 4096);
    const filler = 'a'.repeat(length);
    switch (this.rng.below(3)) {
      case 0:
        like.did = `did:plc:${filler}`;
        return [JSON.stringify(like), 'bad_did', false];
      case 1:
        like.commit.record.subject.uri = `at://did:plc:abc/app.bsky.feed.post/${filler}`;
        return [JSON.stringify(like), 'bad_subject_uri', false];
      default:
        like.commit.rkey = filler;
        return [JSON.stringify(like), 'bad_rkey', false];
    }
  }

  private deepNesting(like: LikeFrame): [string, RejectReason, boolean] {
    const depth = this.logUniform(100, Math.floor((this.maxFrameBytes - 4096) / 6));
    switch (this.rng.below(4)) {
      case 0:
        return ['['.repeat(depth) + ']'.repeat(depth), 'not_an_object', false];
      case 1:
        return ['['.repeat(depth), 'malformed_json', false];
      case 2:
        // An object all the way down, with no did at any level the parser looks at.
        return ['{"a":'.repeat(depth) + '1' + '}'.repeat(depth), 'bad_did', false];
      default: {
        // A like whose subject is nested objects instead of a strong ref.
        const text = JSON.stringify({ ...like, commit: { ...like.commit, record: { $type: 'app.bsky.feed.like', subject: '@' } } });
        return [text.replace('"@"', '{"b":'.repeat(depth) + '1' + '}'.repeat(depth)), 'bad_record', false];
      }
    }
  }

  /** A fresh, valid like of a post of the stream. */
  private like(timeUs: number): LikeFrame {
    return {
      did: `did:plc:${this.base32(24)}`,
      time_us: timeUs,
      kind: 'commit',
      commit: {
        rev: this.tid(),
        operation: 'create',
        collection: 'app.bsky.feed.like',
        rkey: this.tid(),
        record: { $type: 'app.bsky.feed.like', createdAt: '2026-07-04T00:00:00.000Z', subject: { cid: 'bafyreiftot7eltsc3f6g4qktykmbv6jcmdmhcx5osscan6jpdxkpqcmcza', uri: this.rng.pick(this.postUris) } },
        cid: 'bafyreia4sheqwgyfmb4cwrz3bb6qxvha2dnuxt5mp26onhuk2eqik4a37a',
      },
    };
  }

  private tid(): string {
    return '234567abcdefghij'[this.rng.below(16)]! + this.base32(12, '234567abcdefghijklmnopqrstuvwxyz');
  }

  private base32(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz234567'): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.rng.below(32)];
    return out;
  }

  private bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.rng.below(256);
    return out;
  }

  private logUniform(min: number, max: number): number {
    return Math.floor(min * (max / min) ** this.rng.float());
  }
}

interface LikeFrame {
  did: unknown;
  time_us: unknown;
  kind: unknown;
  cursor?: unknown;
  commit: {
    rev: string;
    operation: unknown;
    collection: unknown;
    rkey: unknown;
    record: { $type: string; createdAt: string; subject: { cid: string; uri: string } };
    cid: string;
  };
}

type Change = (like: LikeFrame) => unknown;
const withCommit = (like: LikeFrame, commit: Record<string, unknown>) => ({ ...like, commit: { ...like.commit, ...commit } });

/** Type confusion, one field at a time, with the reason parse.ts gives for each. */
const WRONG_TYPES: Array<[Change, RejectReason]> = [
  [() => [1, 2, 3], 'not_an_object'],
  [() => 'a string', 'not_an_object'],
  [() => 42, 'not_an_object'],
  [() => null, 'not_an_object'],
  [(l) => ({ ...l, did: 12345 }), 'bad_did'],
  [(l) => ({ ...l, did: { did: l.did } }), 'bad_did'],
  [(l) => ({ ...l, did: undefined }), 'bad_did'],
  [(l) => ({ ...l, time_us: String(l.time_us) }), 'bad_time_us'],
  [(l) => ({ ...l, time_us: 1.5 }), 'bad_time_us'],
  [(l) => ({ ...l, time_us: -(l.time_us as number) }), 'bad_time_us'],
  [(l) => ({ ...l, time_us: 0 }), 'bad_time_us'],
  [(l) => ({ ...l, time_us: 2 ** 60 }), 'bad_time_us'],
  [(l) => ({ ...l, cursor: 'next' }), 'bad_cursor'],
  [(l) => ({ ...l, cursor: -1 }), 'bad_cursor'],
  [(l) => ({ ...l, kind: 'mystery' }), 'unknown_kind'],
  [(l) => ({ ...l, kind: 7 }), 'unknown_kind'],
  [(l) => ({ ...l, commit: 'create' }), 'bad_commit'],
  [(l) => ({ ...l, commit: [l.commit] }), 'bad_commit'],
  [(l) => ({ ...l, commit: undefined }), 'bad_commit'],
  [(l) => withCommit(l, { collection: 42 }), 'bad_collection'],
  [(l) => withCommit(l, { collection: undefined }), 'bad_collection'],
  [(l) => withCommit(l, { operation: 'upsert' }), 'bad_operation'],
  [(l) => withCommit(l, { operation: 1 }), 'bad_operation'],
  [(l) => withCommit(l, { rkey: 3 }), 'bad_rkey'],
  [(l) => withCommit(l, { rkey: undefined }), 'bad_rkey'],
  [(l) => withCommit(l, { record: 'liked' }), 'bad_record'],
  [(l) => withCommit(l, { record: undefined }), 'bad_record'],
  [(l) => withCommit(l, { record: { ...l.commit.record, subject: { cid: l.commit.record.subject.cid, uri: 42 } } }), 'bad_record'],
  [(l) => withCommit(l, { record: { ...l.commit.record, subject: [l.commit.record.subject] } }), 'bad_record'],
  [(l) => withCommit(l, { record: { ...l.commit.record, subject: { uri: 'at://did:plc:abc/app.bsky.actor.profile/self' } } }), 'subject_not_a_post'],
  [(l) => withCommit(l, { record: { ...l.commit.record, subject: { uri: 'at://someone.bsky.social/app.bsky.feed.post/3mpsjbtci2c2o' } } }), 'subject_not_a_post'],
  [(l) => ({ did: l.did, time_us: l.time_us, kind: 'account', account: { active: 'yes', seq: 5 } }), 'bad_account'],
  [(l) => ({ did: l.did, time_us: l.time_us, kind: 'account', account: { active: true, seq: -5 } }), 'bad_account'],
  [(l) => ({ did: l.did, time_us: l.time_us, kind: 'account', account: { active: false, seq: 5, did: 'did:plc:someoneelsexxxxxxxxxxxxx' } }), 'bad_account'],
  [(l) => ({ did: l.did, time_us: l.time_us, kind: 'account' }), 'bad_account'],
];

/** Live likes a stream leaves (creates minus unlikes), as the fingerprint testkit/processes/db.ts reads from a database. */
export function expectedLikes(lines: Iterable<string>): Map<string, string> {
  const live = new Map<string, string>();
  for (const line of lines) {
    const frame = JSON.parse(line) as LikeFrame;
    if (frame.kind !== 'commit' || frame.commit.collection !== 'app.bsky.feed.like') continue;
    const key = `${String(frame.did)}|${String(frame.commit.rkey)}`;
    if (frame.commit.operation === 'create') live.set(key, fingerprintOf(frame));
    else if (frame.commit.operation === 'delete') live.delete(key);
  }
  return live;
}

function fingerprintOf(like: LikeFrame): string {
  const [author, , postRkey] = like.commit.record.subject.uri.slice('at://'.length).split('/');
  return `${String(like.did)}|${String(like.commit.rkey)}|${author}|${postRkey}`;
}

function postUrisOf(lines: readonly string[]): string[] {
  const uris: string[] = [];
  for (const line of lines) {
    const frame = JSON.parse(line) as LikeFrame;
    if (frame.kind === 'commit' && frame.commit.collection === 'app.bsky.feed.post' && frame.commit.operation === 'create') {
      uris.push(`at://${String(frame.did)}/app.bsky.feed.post/${String(frame.commit.rkey)}`);
    }
  }
  if (uris.length === 0) throw new Error('fuzz mix: the valid stream has no posts to like');
  return uris;
}

function firstTimeUs(lines: readonly string[]): number {
  return lines.length > 0 ? (JSON.parse(lines[0]!) as { time_us: number }).time_us : Date.now() * 1000;
}
