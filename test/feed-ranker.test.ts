import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReader } from '../src/store/database.js';
import { GOVERNOR_DEFAULTS, PresetGovernor } from '../src/feed/ranker/governor.js';
import { InvalidCursorError, PageCache, decodeCursor } from '../src/feed/ranker/pages.js';
import type { FeedRanker } from '../src/feed/ranker/feed-ranker.js';
import { createDatasetStats, generateDataset } from '../testkit/dataset/generator.js';
import { type JetstreamReplayServer, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { startTestService, testConfig, waitFor } from '../testkit/processes/service.js';

describe('the feed function over a service that ingested a generated stream', () => {
  let jetstream: JetstreamReplayServer;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let ranker: FeedRanker;
  let activeUser: string;

  beforeAll(async () => {
    const stats = createDatasetStats();
    const lines = [...generateDataset({ seed: 11, likes: 20_000, endTimeUs: Math.floor(Date.now() / 1000) * 1e6 }, stats)];
    jetstream = await startJetstreamReplay({ lines });
    const config = testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe`, GRAPH_POLL_MS: '50' });
    svc = await startTestService(config);
    const engine = svc.service.feed!;
    await waitFor(() => (engine.isReady ? true : undefined), 30_000, 'graph ready');
    const reader = openReader(config.dbPath, { busyTimeoutMs: 1000 });
    const rows = () => reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM likes').get()!.n;
    await waitFor(() => (rows() === stats.counts.like ? true : undefined), 30_000, 'every like ingested');
    const likes = reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM likes WHERE deleted = 0').get()!.n;
    await waitFor(async () => ((await (await fetch(`${svc.baseUrl}/metrics`)).text()).includes(`feedgen_graph_likes ${likes}`) ? true : undefined), 10_000, 'graph caught up');
    // The graph holds the posts with live likes, and no others.
    const likedPosts = reader.prepare<[], { n: number }>('SELECT count(DISTINCT post_id) AS n FROM likes WHERE deleted = 0').get()!.n;
    const allPosts = reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM posts').get()!.n;
    expect(allPosts).toBeGreaterThan(likedPosts);
    expect((await (await fetch(`${svc.baseUrl}/metrics`)).text()).includes(`feedgen_graph_posts ${likedPosts}`)).toBe(true);
    // The most active liker: certainly past the cold start.
    activeUser = reader
      .prepare<[], { did: string }>('SELECT a.did FROM likes l JOIN actors a ON a.id = l.actor_id GROUP BY l.actor_id ORDER BY count(*) DESC LIMIT 1')
      .get()!.did;
    reader.close();
    ranker = engine.ranker;
  }, 90_000);

  afterAll(async () => {
    await svc?.stop();
    await jetstream?.close();
  });

  it('ranks a personal feed for an active user and pages through it without repeats or gaps', () => {
    const first = ranker.skeleton({ userDid: activeUser, limit: 30, cursor: undefined });
    expect(first.source).toBe('default');
    expect(first.feed).toHaveLength(30);
    const seen = first.feed.map((item) => item.post);
    let cursor = first.cursor;
    while (cursor) {
      const page = ranker.skeleton({ userDid: activeUser, limit: 50, cursor });
      expect(page.reqId).toBe(first.reqId);
      seen.push(...page.feed.map((item) => item.post));
      cursor = page.cursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThan(30);
    for (const uri of seen) expect(uri).toMatch(/^at:\/\/did:plc:[a-z2-7]{24}\/app\.bsky\.feed\.post\/[2-7a-z]{13}$/);
  });

  it('gives anonymous requests and unknown users the popular list', () => {
    const anonymous = ranker.skeleton({ userDid: undefined, limit: 10, cursor: undefined });
    expect(anonymous.source).toBe('popular');
    expect(anonymous.feed.length).toBe(10);
    expect(ranker.skeleton({ userDid: 'did:plc:nobodyxxxxxxxxxxxxxxxxxx', limit: 10, cursor: undefined }).source).toBe('popular');
  });

  it('rejects a malformed cursor and re-ranks when a well-formed one has expired', () => {
    expect(() => ranker.skeleton({ userDid: activeUser, limit: 10, cursor: 'garbage' })).toThrow(InvalidCursorError);
    const page = ranker.skeleton({ userDid: activeUser, limit: 10, cursor: 'AAAAAAAAAAAAAAAA:20' });
    expect(page.reqId).not.toBe('AAAAAAAAAAAAAAAA');
    expect(decodeCursor(page.cursor!).offset).toBe(10);
  });
});

describe('PageCache', () => {
  it('forgets lists after their time and keeps at most its size', () => {
    let now = 0;
    const cache = new PageCache(1000, 2, () => now);
    const a = cache.put(Float64Array.of(1), 'default');
    now = 500;
    const b = cache.put(Float64Array.of(2), 'default');
    cache.put(Float64Array.of(3), 'default');
    expect(cache.get(a)).toBeUndefined(); // pushed out by size
    expect(cache.get(b)?.posts).toEqual(Float64Array.of(2));
    now = 1600;
    expect(cache.get(b)).toBeUndefined(); // expired
  });
});

describe('PresetGovernor', () => {
  it('switches to cheap when p95 latency passes the budget and back when it drops, without flapping back too soon', () => {
    let now = 0;
    const switches: string[] = [];
    const governor = new PresetGovernor({ ...GOVERNOR_DEFAULTS, budgetMs: 50 }, (to) => switches.push(to), () => now);
    for (let i = 0; i < 400; i++) governor.record(5);
    expect(governor.current).toBe('default');
    for (let i = 0; i < 400; i++) governor.record(120);
    expect(governor.current).toBe('cheap');
    // Load drops, but not for long enough since the last switch: no flapping.
    for (let i = 0; i < 400; i++) governor.record(5);
    expect(governor.current).toBe('cheap');
    now += GOVERNOR_DEFAULTS.minCheapMs;
    for (let i = 0; i < 400; i++) governor.record(5);
    expect(governor.current).toBe('default');
    expect(switches).toEqual(['cheap', 'default']);
  });

  it('switches to cheap at once when load comes back right after a recovery', () => {
    let now = 0;
    const switches: string[] = [];
    const governor = new PresetGovernor({ ...GOVERNOR_DEFAULTS, budgetMs: 50 }, (to) => switches.push(to), () => now);
    for (let i = 0; i < 400; i++) governor.record(120);
    now += GOVERNOR_DEFAULTS.minCheapMs;
    for (let i = 0; i < 400; i++) governor.record(5);
    expect(governor.current).toBe('default');
    // No time passes: an overload must not wait out the interval that keeps the default from flapping back.
    const window = GOVERNOR_DEFAULTS.windowRequests;
    for (let i = 0; i < window / 10; i++) governor.record(120);
    expect(governor.current).toBe('cheap');
    expect(switches).toEqual(['cheap', 'default', 'cheap']);
  });
});
