import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppViewFollowsClient, FollowsFetchError } from '../src/atproto/follows-client.js';
import { FollowsCache, type FollowsCacheOptions } from '../src/feed/follows/follows-cache.js';
import { startAppView, type StandInAppView } from '../testkit/standins/appview.js';
import { numberedDid } from '../testkit/numbered-did.js';

const [ANN, BOB, CAT] = [numberedDid(1), numberedDid(2), numberedDid(3)];
const [X, Y, Z] = [numberedDid(101), numberedDid(102), numberedDid(103)];

describe('the follows cache over the stand-in AppView', () => {
  let appview: StandInAppView;
  let nowMs = 0;
  const outcomes: string[] = [];
  const cache = (options: Partial<FollowsCacheOptions> = {}) =>
    new FollowsCache(
      new AppViewFollowsClient({ appviewUrl: appview.url, timeoutMs: 1000, maxFollows: 100 }),
      { ttlMs: 60_000, failureTtlMs: 5_000, maxUsers: 100, maxFollows: 100, maxConcurrentFetches: 4, now: () => nowMs, ...options },
      { fetched: (o) => void outcomes.push(o), looked: () => {}, users: () => {} },
    );
  const reason = (work: Promise<unknown>) => work.then(() => 'resolved', (err: unknown) => (err instanceof FollowsFetchError ? err.reason : String(err)));

  beforeAll(async () => {
    appview = await startAppView(new Map([[ANN, [X, Y]], [BOB, [Y]], [CAT, [Z]]]));
  });
  afterAll(() => appview?.close());

  it('fetches a user once: a hit, and requests arriving together, share it; after the TTL it fetches again', async () => {
    const c = cache();
    const before = appview.requests(ANN);
    const [a, b] = await Promise.all([c.get(ANN), c.get(ANN)]);
    expect([...a]).toEqual([X, Y]);
    expect(b).toBe(a);
    expect([...(await c.get(ANN))]).toEqual([X, Y]);
    expect(c.peek(ANN)).toBe(a);
    expect(appview.requests(ANN) - before).toBe(1);
    nowMs += 60_000;
    expect(c.peek(ANN)).toBeUndefined();
    await c.get(ANN);
    expect(appview.requests(ANN) - before).toBe(2);
  });

  it('remembers a failure for a while, counted, without asking the AppView again', async () => {
    const c = cache();
    outcomes.length = 0;
    appview.setFault({ kind: 'status', status: 503 });
    const before = appview.requests(BOB);
    expect(await reason(c.get(BOB))).toBe('http_error');
    expect(await reason(c.get(BOB))).toBe('http_error');
    expect(appview.requests(BOB) - before).toBe(1);
    appview.setFault(undefined);
    nowMs += 5_000;
    expect([...(await c.get(BOB))]).toEqual([Y]);
    expect(outcomes).toEqual(['http_error', 'ok']);
  });

  it('refuses a new user at once past its fetches in flight (busy, not remembered)', async () => {
    const c = cache({ maxConcurrentFetches: 1 });
    outcomes.length = 0;
    appview.setFault({ kind: 'delay', ms: 300 });
    const slow = c.get(ANN);
    expect(await reason(c.get(CAT))).toBe('busy');
    await slow;
    appview.setFault(undefined);
    expect([...(await c.get(CAT))]).toEqual([Z]);
    expect(outcomes).toEqual(['busy', 'ok', 'ok']);
  });

  it('keeps at most maxUsers, dropping the least recently used', async () => {
    const c = cache({ maxUsers: 2 });
    await c.get(ANN);
    await c.get(BOB);
    c.peek(ANN); // used: BOB is now the oldest
    await c.get(CAT);
    expect(c.size).toBe(2);
    expect(c.peek(BOB)).toBeUndefined();
    expect(c.peek(ANN)).toBeDefined();
  });

  it('applies Jetstream follow records to cached users only; a delete needs the rkey its create had', async () => {
    const c = cache();
    const follow = (did: string, rkey: string, subject: string) => ({ type: 'follow', did, rkey, subject, timeUs: 1 }) as const;
    const unfollow = (did: string, rkey: string) => ({ type: 'follow-delete', did, rkey, timeUs: 1 }) as const;
    expect(c.applyFollow(follow(ANN, '3kaaaaaaaaa22', Z))).toBe('ignored');
    await c.get(ANN);
    expect(c.applyFollow(follow(ANN, '3kaaaaaaaaa22', Z))).toBe('applied');
    expect([...c.peek(ANN)!]).toEqual([X, Y, Z]);
    // X was followed before the cache saw it: its record key is unknown, so nothing changes until the TTL.
    expect(c.applyFollow(unfollow(ANN, '3kbbbbbbbbb22'))).toBe('ignored');
    expect(c.applyFollow(unfollow(ANN, '3kaaaaaaaaa22'))).toBe('applied');
    expect([...c.peek(ANN)!]).toEqual([X, Y]);
  });
});
