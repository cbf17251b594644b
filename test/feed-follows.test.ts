import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followsCacheFor } from '../src/feed/follows/from-config.js';
import type { FollowsCache } from '../src/feed/follows/follows-cache.js';
import { createMetrics } from '../src/observability/metrics.js';
import { openReader } from '../src/store/database.js';
import { startAppView, type AppViewFault, type StandInAppView } from '../testkit/standins/appview.js';
import { type DatasetInputs, FEED_URI, registerUser, type SignedUser, startDatasetInputs } from '../testkit/processes/feed-service.js';
import { metricValue, startTestService, testConfig, waitFor } from '../testkit/processes/service.js';
import { metricSamples, metricTotal } from '../testkit/metrics/prometheus.js';
import { createDatasetStats } from '../testkit/dataset/generator.js';
import { followLine, likeLine, unfollowLine } from '../testkit/jetstream-lines.js';
import { numberedDid } from '../testkit/numbered-did.js';

const TIMEOUT_MS = 500;
const SKELETON = 'app.bsky.feed.getFeedSkeleton';

describe('cold start from follows, through the service with the stand-in AppView and Jetstream', () => {
  let inputs: DatasetInputs;
  let appview: StandInAppView;
  let follows: FollowsCache;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let reader: Database;
  /** Likers by activity, most first: who the users below follow. */
  let likers: string[];
  let userN = 0;

  const metrics = async () => (await fetch(`${svc.baseUrl}/metrics`)).text();
  /** A first page of 30: signed in as `user`, or anonymous (the popular list). */
  const firstPage = async (user?: SignedUser): Promise<string[]> => {
    const headers = user ? { authorization: await user.bearer(SKELETON) } : undefined;
    const res = await fetch(`${svc.baseUrl}/xrpc/${SKELETON}?${new URLSearchParams({ feed: FEED_URI, limit: '30' })}`, { headers });
    expect(res.status).toBe(200);
    return ((await res.json()) as { feed: Array<{ post: string }> }).feed.map((item) => item.post);
  };
  /** A user the stream never saw (no likes, no posts) who follows `followed` at the AppView. */
  const newUser = async (followed: string[] | undefined): Promise<SignedUser> => {
    const user = await registerUser(inputs.plc, numberedDid(900_000 + userN++));
    if (followed) appview.setFollows(user.did, followed);
    return user;
  };
  const likedBy = (dids: string[]): Set<string> => {
    const rows = reader
      .prepare<string[], { did: string; rkey: string }>(
        `SELECT a.did, p.rkey FROM likes l JOIN posts p ON p.id = l.post_id JOIN actors a ON a.id = p.author_id
         JOIN actors liker ON liker.id = l.actor_id WHERE l.deleted = 0 AND liker.did IN (${dids.map(() => '?').join(',')})`,
      )
      .all(...dids);
    return new Set(rows.map((r) => `at://${r.did}/app.bsky.feed.post/${r.rkey}`));
  };
  const ingested = async (kind: string, outcome: string, count: number) =>
    waitFor(async () => (metricValue(await metrics(), 'feedgen_ingest_events_total', { kind, outcome }) >= count ? true : undefined), 10_000, `${kind} ${outcome}`);

  beforeAll(async () => {
    const stats = createDatasetStats();
    inputs = await startDatasetInputs({ seed: 11, likes: 10_000, days: 1 }, stats);
    appview = await startAppView();
    const config = testConfig({ ...inputs.env, FOLLOWS_APPVIEW_URL: appview.url, FOLLOWS_TIMEOUT_MS: String(TIMEOUT_MS) });
    // The service's own cache, built as the context would, so the test can look into it.
    const serviceMetrics = createMetrics();
    follows = followsCacheFor(config.feed.follows, serviceMetrics)!;
    svc = await startTestService(config, { overrides: { metrics: serviceMetrics, follows } });
    reader = openReader(config.dbPath, { busyTimeoutMs: 1000 });
    await waitFor(() => (reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM likes').get()!.n === stats.counts.like ? true : undefined), 30_000, 'every like ingested');
    const live = reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM likes WHERE deleted = 0').get()!.n;
    await waitFor(async () => (metricValue(await metrics(), 'feedgen_graph_likes') === live ? true : undefined), 20_000, 'graph caught up');
    await waitFor(async () => ((await firstPage()).length === 30 ? true : undefined), 10_000, 'a full popular list');
    likers = reader
      .prepare<[], { did: string }>('SELECT a.did FROM likes l JOIN actors a ON a.id = l.actor_id WHERE l.deleted = 0 GROUP BY l.actor_id ORDER BY count(*) DESC, a.did LIMIT 20')
      .all()
      .map((r) => r.did);
  }, 90_000);

  afterAll(async () => {
    reader?.close();
    await svc?.stop();
    await appview?.close();
    await inputs?.close();
  });

  it('gives a user with no likes what the accounts they follow like, not the popular list; a second first page asks the AppView nothing', async () => {
    const followed = likers.slice(0, 5);
    const user = await newUser(followed);
    const before = metricTotal(await metrics(), 'feedgen_feed_rankings_total');
    const page = await firstPage(user);
    expect(page).toHaveLength(30);
    expect(page).not.toEqual(await firstPage());
    // Half the co-likers' weight is the followed accounts': most of the page is theirs.
    const theirs = likedBy(followed);
    expect(page.filter((post) => theirs.has(post)).length).toBeGreaterThanOrEqual(10);
    const text = await metrics();
    expect(rankingsFromFollows(text)).toBe(1);
    expect(metricTotal(text, 'feedgen_feed_rankings_total') - before).toBe(2); // this page, and the popular one
    expect(metricValue(text, 'feedgen_follows_fetches_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(appview.requests(user.did)).toBe(1);
    expect(await firstPage(user)).toEqual(page);
    expect(appview.requests(user.did)).toBe(1);
    expect(metricValue(await metrics(), 'feedgen_follows_lookups_total', { result: 'cached' })).toBeGreaterThanOrEqual(1);
  });

  it('never asks the AppView for a user with enough likes of their own', async () => {
    const active = await registerUser(inputs.plc, likers[0]!);
    appview.setFollows(active.did, likers.slice(1, 5));
    const page = await firstPage(active);
    expect(page).toHaveLength(30);
    expect(appview.requests(active.did)).toBe(0);
  });

  it.each([
    ['times out', { kind: 'delay', ms: 5000 }, 'timeout'],
    ['answers 500', { kind: 'status', status: 500 }, 'http_error'],
    ['answers a malformed body', { kind: 'malformed', body: '{"follows": "nope"}' }, 'malformed'],
  ] as Array<[string, AppViewFault, string]>)('serves the popular list within the timeout when the AppView %s, counted, and does not ask again at once', async (_what, fault, outcome) => {
    const user = await newUser(likers.slice(0, 5));
    const popular = await firstPage();
    const counted = () => metrics().then((text) => metricValue(text, 'feedgen_follows_fetches_total', { outcome }));
    const before = await counted();
    appview.setFault(fault);
    try {
      const started = performance.now();
      expect(await firstPage(user)).toEqual(popular);
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
      expect(await counted()).toBe(before + 1);
      // The failure is remembered: the next first page is the popular list again, without a fetch.
      const requests = appview.requests(user.did);
      expect(await firstPage(user)).toEqual(popular);
      expect(appview.requests(user.did)).toBe(requests);
    } finally {
      appview.setFault(undefined);
    }
  });

  it("applies Jetstream follow records to a cached user's next ranking; a batch of follows alone still moves the cursor", async () => {
    const [a, b] = [likers[6]!, likers[7]!];
    const user = await newUser([a]);
    const first = await firstPage(user);
    expect([...follows.peek(user.did)!]).toEqual([a]);
    const cursorBefore = metricValue(await metrics(), 'feedgen_ingest_cursor_time_us');
    const nowUs = Date.now() * 1000;

    inputs.jetstream.append([followLine(user.did, '3mptbypmibb2v', b, nowUs)]);
    await ingested('follow', 'applied', 1);
    expect([...follows.peek(user.did)!]).toEqual([a, b]);
    const withB = await firstPage(user);
    expect(withB).not.toEqual(first);
    const bLiked = likedBy([b]);
    expect(withB.some((post) => bLiked.has(post))).toBe(true);
    // Nothing but follows since the last commit: the cursor moves all the same, past the follow.
    await waitFor(async () => (metricValue(await metrics(), 'feedgen_ingest_cursor_time_us') > cursorBefore ? true : undefined), 10_000, 'cursor moved');

    inputs.jetstream.append([unfollowLine(user.did, '3mptbypmibb2v', nowUs + 1000)]);
    await ingested('follow-delete', 'applied', 1);
    expect([...follows.peek(user.did)!]).toEqual([a]);
    expect(await firstPage(user)).toEqual(first);
    expect(appview.requests(user.did)).toBe(1);
  });

  it('counts a follow whose subject is not a DID as a rejection, and ignores follows of users not cached', async () => {
    const rejected = () => metrics().then((text) => metricValue(text, 'feedgen_ingest_rejections_total', { reason: 'bad_follow_subject' }));
    const before = await rejected();
    const nowUs = Date.now() * 1000;
    inputs.jetstream.append([followLine(numberedDid(5), '3mptbypmibc2v', 'alice.bsky.social', nowUs), followLine(numberedDid(777_777), '3mptbypmibd2v', likers[0]!, nowUs)]);
    await waitFor(async () => ((await rejected()) === before + 1 ? true : undefined), 10_000, 'rejection counted');
    await ingested('follow', 'ignored', 1);
  });

  it('serves the popular list, not an empty page, to a user whose likes lead nowhere', async () => {
    // Twelve likes (past the follows' threshold) of posts nobody else likes: no co-liker, no candidate.
    const user = await newUser(undefined);
    const author = numberedDid(888_888);
    const nowUs = Date.now() * 1000;
    const graphLikes = metricValue(await metrics(), 'feedgen_graph_likes');
    inputs.jetstream.append(Array.from({ length: 12 }, (_, i) => likeLine(user.did, `lonely${i}`, author, `lonelypost${i}`, nowUs + i)));
    await waitFor(async () => (metricValue(await metrics(), 'feedgen_graph_likes') === graphLikes + 12 ? true : undefined), 10_000, 'the graph holds the likes');
    const page = await firstPage(user);
    expect(page).toHaveLength(30);
    expect(page).toEqual(await firstPage());
    expect(appview.requests(user.did)).toBe(0);
  });

  it('explains a follows-based post in the playground by the account the user follows', async () => {
    const followed = likers.slice(0, 5);
    const user = await newUser(followed);
    const page = await (await fetch(`${svc.baseUrl}/playground?${new URLSearchParams({ actor: user.did })}`)).text();
    expect(page).toMatch(/ranked by \w+\+follows/);
    const marked = [...page.matchAll(/<li class="coliker followed" data-did="([^"]+)">[^<]*<code>[^<]+<\/code>, whom this user follows/g)].map((m) => m[1]!);
    expect(marked.length).toBeGreaterThan(0);
    for (const did of marked) expect(followed).toContain(did);
  });
});

/** First pages ranked with follows, whichever preset ranked them. */
function rankingsFromFollows(text: string): number {
  return metricSamples(text, 'feedgen_feed_rankings_total')
    .filter((sample) => sample.labels.source?.endsWith('+follows'))
    .reduce((sum, sample) => sum + sample.value, 0);
}
