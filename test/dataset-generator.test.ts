import { ensureValidAtUri, ensureValidDid, ensureValidRecordKey, isValidTid } from '@atproto/syntax';
import { describe, expect, it } from 'vitest';
import {
  createDatasetStats,
  type DatasetOptions,
  type DatasetStats,
  generateDataset,
  generateDatasetChunks,
  MALFORMED_KINDS,
} from '../testkit/dataset/generator.js';

const END_TIME_US = Date.UTC(2026, 6, 4, 12) * 1000;
/** One day, so events are dense enough for Jetstream-like reordering to show. */
const OPTIONS: DatasetOptions = {
  seed: 42,
  likes: 20_000,
  users: 2_000,
  posts: 8_000,
  communities: 8,
  days: 1,
  endTimeUs: END_TIME_US,
  malformedShare: 0.01,
};
const DAY_US = 86_400_000_000;
const MAX_BACKWARD_STEP_US = 500_000;
const CID = /^bafyrei[a-h][a-z2-7]{50}[aeimquy4]$/;
const PLC_DID = /^did:plc:[a-z2-7]{24}$/;
const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const COLLECTIONS = { 'app.bsky.feed.post': 'post', 'app.bsky.feed.like': 'like', 'app.bsky.feed.repost': 'repost' } as const;

interface Create {
  type: 'post' | 'like' | 'repost';
  did: string;
  timeUs: number;
  createdAtUs: number;
  rkey: string;
  cid: string;
  /** The liked or reposted post: its URI and CID. */
  subject?: { uri: string; cid: string };
  text?: string;
}
interface Delete {
  type: 'unlike' | 'postDelete' | 'otherDelete';
  did: string;
  timeUs: number;
  rkey: string;
}
interface Account {
  type: 'account';
  did: string;
  timeUs: number;
  active: boolean;
}
type Event = Create | Delete | Account;

function generate(options: DatasetOptions): { lines: string[]; stats: DatasetStats } {
  const stats = createDatasetStats();
  return { lines: [...generateDataset(options, stats)], stats };
}

const { lines, stats } = generate(OPTIONS);
const events = lines.map(parseValid).filter((event): event is Event => event !== undefined);
const creates = events.filter((event): event is Create => 'cid' in event);
const likes = creates.filter((event) => event.type === 'like');
const postUri = (post: Create) => `at://${post.did}/app.bsky.feed.post/${post.rkey}`;

describe('dataset generator', () => {
  it('is reproducible: the same seed gives the same bytes, another seed other bytes', () => {
    const small = { ...OPTIONS, likes: 2_000, users: 300, posts: 1_000 };
    const first = generate(small).lines.join('\n');
    expect(generate(small).lines.join('\n')).toBe(first);
    expect(generate({ ...small, seed: 43 }).lines.join('\n')).not.toBe(first);
    const chunks = Buffer.concat([...generateDatasetChunks(small, createDatasetStats(), 4096)]).toString('utf8');
    expect(chunks).toBe(`${first}\n`);
  });

  it('writes exactly the requested likes, and every line is valid or counted as malformed', () => {
    expect(likes).toHaveLength(OPTIONS.likes);
    expect(stats.counts.like).toBe(OPTIONS.likes);
    expect(stats.lines).toBe(lines.length);
    expect(lines.length - events.length).toBe(stats.counts.malformed);
    expect(creates.filter((event) => event.type === 'post')).toHaveLength(stats.counts.post);
    expect(creates.filter((event) => event.type === 'repost')).toHaveLength(stats.counts.repost);
    expect(stats.counts.repost / stats.counts.like).toBeCloseTo(0.1, 2);
    for (const kind of ['unlike', 'postDelete', 'account'] as const) expect(stats.counts[kind]).toBeGreaterThan(0);
  });

  it('mixes in malformed lines of every kind, at about the requested share', () => {
    const share = stats.counts.malformed / events.length;
    expect(share).toBeGreaterThan(OPTIONS.malformedShare! * 0.7);
    expect(share).toBeLessThan(OPTIONS.malformedShare! * 1.3);
    for (const kind of MALFORMED_KINDS) expect(stats.malformed[kind], kind).toBeGreaterThan(0);
  });

  it('likes and reposts name posts created earlier in the stream, with their CID', () => {
    const postCids = new Map<string, string>();
    const unknown = creates.filter((event) => {
      if (event.type === 'post') postCids.set(postUri(event), event.cid);
      return event.type !== 'post' && postCids.get(event.subject!.uri) !== event.subject!.cid;
    });
    expect(unknown).toEqual([]);
  });

  it('never lets a user like the same post twice', () => {
    const pairs = new Set(likes.map((like) => `${like.did} ${like.subject!.uri}`));
    expect(pairs.size).toBe(likes.length);
  });

  it('deletes only earlier records of the same user: unlikes by like rkey, post deletes by post rkey', () => {
    const deletable = { unlike: new Set<string>(), postDelete: new Set<string>() };
    const orphans = events.filter((event) => {
      if (event.type === 'like') deletable.unlike.add(`${event.did} ${event.rkey}`);
      if (event.type === 'post') deletable.postDelete.add(`${event.did} ${event.rkey}`);
      if (event.type === 'otherDelete') return true;
      // Each record is deleted once at most.
      return (event.type === 'unlike' || event.type === 'postDelete') && !deletable[event.type].delete(`${event.did} ${event.rkey}`);
    });
    expect(orphans).toEqual([]);
  });

  it('silences accounts once they are deactivated, deleted or taken down', () => {
    const gone = new Set<string>();
    const afterwards = events.filter((event) => {
      const silenced = gone.has(event.did);
      if (event.type === 'account' && !event.active) gone.add(event.did);
      return silenced;
    });
    expect(gone.size).toBeGreaterThan(0);
    expect(afterwards).toEqual([]);
  });

  it('gives user activity and post popularity heavy tails', () => {
    const perUser = countBy(likes, (like) => like.did);
    const perPost = countBy(likes, (like) => like.subject!.uri);
    expect(topShare(perUser, 0.01)).toBeGreaterThan(0.15);
    expect(topShare(perPost, 0.01)).toBeGreaterThan(0.15);
    expect(Math.max(...perPost)).toBeGreaterThan(50 * median(perPost));
  });

  it('makes users like mostly within their communities (the signal collaborative filtering needs)', () => {
    expect(stats.likesInCommunity / stats.counts.like).toBeGreaterThan(0.75);
    // From the stream alone: a post's text opens with its community's #topic, and an active
    // user's likes gather on two topics out of eight.
    const topicOf = new Map(creates.filter((event) => event.type === 'post').map((post) => [postUri(post), post.text!.split(' ')[0]!]));
    const topicsByUser = new Map<string, string[]>();
    for (const like of likes) topicsByUser.set(like.did, [...(topicsByUser.get(like.did) ?? []), topicOf.get(like.subject!.uri)!]);
    const active = [...topicsByUser.values()].filter((topics) => topics.length >= 20);
    const shares = active.map((topics) => shareOfTop(countBy(topics, (topic) => topic), 2));
    expect(median(shares)).toBeGreaterThan(0.8);
  });

  it('times events like Jetstream: in order but for small backward steps, createdAt a little earlier', () => {
    const times = events.map((event) => event.timeUs);
    const steps = times.slice(1).map((time, i) => time - times[i]!);
    const backward = steps.filter((step) => step < 0);
    expect(backward.length).toBeGreaterThan(0);
    expect(backward.length / steps.length).toBeLessThan(0.05);
    expect(Math.min(...backward)).toBeGreaterThan(-MAX_BACKWARD_STEP_US);
    expect(Math.min(...times)).toBeGreaterThan(END_TIME_US - 2 * DAY_US);
    expect(Math.max(...times)).toBeLessThanOrEqual(END_TIME_US);
    const lags = creates.map((event) => event.timeUs - event.createdAtUs);
    expect(Math.min(...lags)).toBeGreaterThan(-MAX_BACKWARD_STEP_US);
    expect(median(lags)).toBeGreaterThan(300_000);
    expect(Math.max(...lags)).toBeLessThan(11_000_000);
  });

  it('puts likes in the hours after a post appears, more by day than by night', () => {
    const postTimes = new Map(creates.filter((event) => event.type === 'post').map((post) => [postUri(post), post.timeUs]));
    const agesHours = likes.map((like) => (like.timeUs - postTimes.get(like.subject!.uri)!) / 3_600_000_000);
    expect(median(agesHours)).toBeLessThan(6);
    const perHour = countBy(likes, (like) => new Date(like.timeUs / 1000).getUTCHours());
    expect(Math.max(...perHour)).toBeGreaterThan(2 * Math.min(...perHour));
  });

  it('makes a flat stream when asked (diurnal amplitude 0): likes spread evenly over the hours', () => {
    const flat = generate({ ...OPTIONS, diurnalAmplitude: 0, malformedShare: 0 }).lines.map(parseValid);
    const flatLikes = flat.filter((event): event is Create => event?.type === 'like');
    const perHour = countBy(flatLikes, (like) => new Date(like.timeUs / 1000).getUTCHours());
    // 24 hours of about 830 likes each, so noise alone stays well inside 1.3x (the default curve gives over 2x).
    expect(Math.max(...perHour)).toBeLessThan(1.3 * Math.min(...perHour));
  });

  it('taste sparsity and freshness scale: the defaults change nothing, other values what they should', () => {
    const small = { ...OPTIONS, likes: 10_000, malformedShare: 0 };
    const defaults = generate({ ...small, inCommunityLikeShare: 0.9, freshDecayHours: 4 });
    expect(defaults.lines.join('\n')).toBe(generate(small).lines.join('\n'));
    const inCommunity = (s: DatasetStats) => s.likesInCommunity / s.counts.like;
    const sparse = generate({ ...small, inCommunityLikeShare: 0.5 }).stats;
    expect(inCommunity(defaults.stats)).toBeGreaterThan(0.85);
    // Network-wide picks still land in the liker's communities now and then (8 of them here).
    expect(inCommunity(sparse)).toBeLessThan(0.65);
    expect(inCommunity(sparse)).toBeGreaterThan(0.45);
    // A slower decay spreads a post's likes over more hours after it appears (a week: 12 h against 3.6 h).
    const medianLikeAgeH = (options: DatasetOptions) => {
      const run = generate(options).lines.map(parseValid);
      const born = new Map(run.filter((e): e is Create => e?.type === 'post').map((post) => [postUri(post), post.timeUs]));
      const ages = run
        .filter((e): e is Create => e?.type === 'like' && born.has(e.subject!.uri))
        .map((like) => (like.timeUs - born.get(like.subject!.uri)!) / 3.6e9)
        .sort((a, b) => a - b);
      return ages[ages.length >> 1]!;
    };
    const week = { ...small, days: 7 };
    expect(medianLikeAgeH({ ...week, freshDecayHours: 24 })).toBeGreaterThan(2 * medianLikeAgeH(week));
    expect(() => generateDataset({ ...small, inCommunityLikeShare: 1.2 })).toThrow(/inCommunityLikeShare/);
    expect(() => generateDataset({ ...small, freshDecayHours: 0 })).toThrow(/freshDecayHours/);
  });

  it('rejects impossible options up front', () => {
    expect(() => generateDataset({ seed: 1, likes: 100, diurnalAmplitude: 1 })).toThrow(/diurnalAmplitude/);
    expect(() => generateDataset({ seed: 1, likes: 0 })).toThrow(RangeError);
    expect(() => generateDataset({ seed: 1, likes: 100, days: 0 })).toThrow(RangeError);
    expect(() => generateDataset({ seed: 1, likes: 10_000, users: 5, posts: 5 })).toThrow(/too many/);
  });

  it('copes with tiny datasets', () => {
    const tiny = generate({ seed: 7, likes: 3, endTimeUs: END_TIME_US, malformedShare: 0 });
    expect(tiny.stats.counts.like).toBe(3);
    expect(tiny.lines.every((line) => parseValid(line) !== undefined)).toBe(true);
  });
});

/** A narrow reader of the shapes the generator writes; undefined for anything else. */
function parseValid(line: string): Event | undefined {
  try {
    const frame: unknown = JSON.parse(line);
    if (!isObject(frame) || typeof frame.did !== 'string' || !PLC_DID.test(frame.did)) return undefined;
    ensureValidDid(frame.did);
    if (!Number.isSafeInteger(frame.time_us) || (frame.time_us as number) <= 0) return undefined;
    const base = { did: frame.did, timeUs: frame.time_us as number };
    if (frame.kind === 'account') return parseAccount(base, frame.account);
    if (frame.kind === 'commit') return parseCommit(base, frame.commit);
    return undefined;
  } catch {
    return undefined;
  }
}

function parseAccount(base: { did: string; timeUs: number }, account: unknown): Account | undefined {
  if (!isObject(account) || account.did !== base.did || typeof account.active !== 'boolean') return undefined;
  if (!Number.isSafeInteger(account.seq) || typeof account.time !== 'string' || !RFC3339_MS.test(account.time)) return undefined;
  const statusOk = account.active
    ? account.status === undefined
    : ['deactivated', 'deleted', 'takendown'].includes(account.status as string);
  return statusOk ? { type: 'account', ...base, active: account.active } : undefined;
}

function parseCommit(base: { did: string; timeUs: number }, commit: unknown): Create | Delete | undefined {
  if (!isObject(commit) || typeof commit.rev !== 'string' || !isValidTid(commit.rev)) return undefined;
  if (typeof commit.rkey !== 'string' || !isValidTid(commit.rkey)) return undefined;
  ensureValidRecordKey(commit.rkey);
  const type = COLLECTIONS[commit.collection as keyof typeof COLLECTIONS];
  if (type === undefined) return undefined;
  if (commit.operation === 'delete') {
    if ('record' in commit || 'cid' in commit) return undefined;
    return { type: type === 'like' ? 'unlike' : type === 'post' ? 'postDelete' : 'otherDelete', ...base, rkey: commit.rkey };
  }
  const record = commit.record;
  if (commit.operation !== 'create' || !isObject(record) || record.$type !== commit.collection) return undefined;
  if (typeof commit.cid !== 'string' || !CID.test(commit.cid)) return undefined;
  if (typeof record.createdAt !== 'string' || !RFC3339_MS.test(record.createdAt)) return undefined;
  const create = { ...base, rkey: commit.rkey, cid: commit.cid, createdAtUs: Date.parse(record.createdAt) * 1000 };
  if (type === 'post') return parsePost(create, record);
  const subject = parseStrongRef(record.subject);
  return subject && { type, ...create, subject };
}

function parsePost(create: Omit<Create, 'type'>, record: Record<string, unknown>): Create | undefined {
  if (typeof record.text !== 'string' || !Array.isArray(record.langs)) return undefined;
  if (record.reply !== undefined) {
    if (!isObject(record.reply) || !parseStrongRef(record.reply.parent) || !parseStrongRef(record.reply.root)) return undefined;
  }
  return { type: 'post', ...create, text: record.text };
}

/** `{cid, uri}` where the URI names a post: at://<did>/app.bsky.feed.post/<tid>. */
function parseStrongRef(ref: unknown): { uri: string; cid: string } | undefined {
  if (!isObject(ref) || typeof ref.uri !== 'string' || typeof ref.cid !== 'string' || !CID.test(ref.cid)) return undefined;
  ensureValidAtUri(ref.uri);
  const [did, collection, rkey, ...rest] = ref.uri.replace(/^at:\/\//, '').split('/');
  if (!ref.uri.startsWith('at://') || collection !== 'app.bsky.feed.post' || rkey === undefined || rest.length > 0) return undefined;
  ensureValidDid(did!);
  ensureValidRecordKey(rkey);
  return isValidTid(rkey) ? { uri: ref.uri, cid: ref.cid } : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function countBy<T, K>(items: T[], key: (item: T) => K): number[] {
  const counts = new Map<K, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.values()];
}

/** The share of the total held by the largest `fraction` of the counts (at least one). */
function topShare(counts: number[], fraction: number): number {
  return shareOfTop(counts, Math.max(1, Math.round(counts.length * fraction)));
}

function shareOfTop(counts: number[], n: number): number {
  const sorted = [...counts].sort((a, b) => b - a);
  return sum(sorted.slice(0, n)) / sum(sorted);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
