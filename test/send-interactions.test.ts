import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReader } from '../src/store/database.js';
import { INTERACTION_EVENTS, interactionCode } from '../src/store/schema.js';
import { syntaxVectors } from '../testkit/fixtures.js';
import { authorOf, type DatasetService, FEED_URI, registerUser, SERVICE_DID, type SignedUser, startDatasetService } from '../testkit/processes/feed-service.js';

const SEND = 'app.bsky.feed.sendInteractions';
const GET_FEED_SKELETON = 'app.bsky.feed.getFeedSkeleton';
const SEEN = 'app.bsky.feed.defs#interactionSeen';
const LESS = 'app.bsky.feed.defs#requestLess';

interface StoredInteraction {
  actor: string;
  post: string | null;
  event: number;
  reqId: string | null;
  feedContext: string | null;
}

describe('sendInteractions over HTTP', () => {
  let ds: DatasetService;
  let reader: Database;
  /** A user of its own for the storage checks, so the ranking tests are not disturbed. */
  let alice: SignedUser;
  /** The dataset's most active liker, for the effect on ranking. */
  let active: SignedUser;
  /** A few users to spread the many 400 cases over: each user's requests are rate limited. */
  let pool: SignedUser[];
  /** Posts from the popular list: real posts in the database. */
  let popular: string[];

  const send = async (body: unknown, auth?: string, raw = false) =>
    fetch(`${ds.svc.baseUrl}/xrpc/${SEND}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: raw ? (body as string) : JSON.stringify(body),
    });

  const storedFor = (did: string): StoredInteraction[] =>
    reader
      .prepare<[string], StoredInteraction>(
        `SELECT a.did AS actor,
                CASE WHEN p.id IS NULL THEN NULL ELSE 'at://' || pa.did || '/app.bsky.feed.post/' || p.rkey END AS post,
                i.event, i.req_id AS reqId, i.feed_context AS feedContext
         FROM interactions i JOIN actors a ON a.id = i.actor_id
         LEFT JOIN posts p ON p.id = i.post_id LEFT JOIN actors pa ON pa.id = p.author_id
         WHERE a.did = ? ORDER BY i.id`,
      )
      .all(did);

  const interactionCount = () => reader.prepare<[], { n: number }>('SELECT count(*) AS n FROM interactions').get()!.n;

  async function skeleton(user: SignedUser, cursor?: string, limit = 100) {
    const params = new URLSearchParams({ feed: FEED_URI, limit: String(limit), ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${ds.svc.baseUrl}/xrpc/${GET_FEED_SKELETON}?${params}`, {
      headers: { authorization: await user.bearer(GET_FEED_SKELETON) },
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { feed: Array<{ post: string }>; cursor?: string; reqId: string };
  }

  /** The whole fresh ranking of a user: a first page, then every cursor to the end. */
  async function fullRanking(user: SignedUser): Promise<string[]> {
    const posts: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await skeleton(user, cursor);
      posts.push(...page.feed.map((item) => item.post));
      cursor = page.cursor;
    } while (cursor);
    return posts;
  }

  beforeAll(async () => {
    ds = await startDatasetService({ seed: 23, likes: 20_000 });
    reader = openReader(ds.config.dbPath, { busyTimeoutMs: 1000 });
    alice = await registerUser(ds.plc);
    active = await registerUser(ds.plc, ds.activeUser);
    pool = await Promise.all(Array.from({ length: 6 }, () => registerUser(ds.plc)));
    const res = await fetch(`${ds.svc.baseUrl}/xrpc/${GET_FEED_SKELETON}?${new URLSearchParams({ feed: FEED_URI, limit: '20' })}`);
    popular = ((await res.json()) as { feed: Array<{ post: string }> }).feed.map((item) => item.post);
    expect(popular.length).toBe(20);
  }, 120_000);

  afterAll(async () => {
    reader?.close();
    await ds?.stop();
  });

  describe('authentication', () => {
    it('refuses a call without a JWT with 401', async () => {
      const res = await send({ interactions: [{ item: popular[0], event: SEEN }] });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'AuthMissing', message: expect.any(String) });
    });

    it('refuses a JWT for another method with 401 BadJwtLexiconMethod', async () => {
      const before = interactionCount();
      for (const lxm of [GET_FEED_SKELETON, null]) {
        const res = await send({ interactions: [{ item: popular[0], event: SEEN }] }, await alice.bearer(lxm));
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: 'BadJwtLexiconMethod' });
      }
      expect(interactionCount()).toBe(before);
    });

    it('checks the JWT before reading the body: 401, not 413 or 400, without one', async () => {
      const big = JSON.stringify({ interactions: [{ item: popular[0], event: SEEN, feedContext: 'x'.repeat(300 * 1024) }] });
      for (const body of [big, '{"interactions": [']) {
        const res = await send(body, undefined, true);
        expect(res.status).toBe(401);
        expect(await res.json()).toMatchObject({ error: 'AuthMissing' });
      }
      const forged = await send('{"interactions": [', `Bearer ${'e30'}.${'e30'}.${'AAAA'}`, true);
      expect(forged.status).toBe(401);
    });

    it('refuses a JWT for another audience with 401', async () => {
      const res = await send({ interactions: [] }, await alice.bearer(SEND, 'did:web:other.example.com'));
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'BadJwtAudience' });
    });
  });

  describe('storage', () => {
    it('answers 200 {} and stores actor, post, event, reqId and feedContext', async () => {
      const notInDb = 'at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3kabcdefghij2';
      const body = {
        feed: FEED_URI,
        interactions: [
          { item: popular[0], event: SEEN, reqId: 'req-1', feedContext: 'ctx-a' },
          { item: popular[1], event: 'app.bsky.feed.defs#clickthroughItem', reqId: 'req-1' },
          { item: popular[2], event: 'app.bsky.feed.defs#requestMore', feedContext: 'x'.repeat(2000) },
          { item: notInDb, event: 'app.bsky.feed.defs#interactionShare' },
          // Valid AT-URIs that are not posts, or no item: stored without a post.
          { item: FEED_URI, event: 'app.bsky.feed.defs#clickthroughEmbed' },
          { event: 'app.bsky.feed.defs#interactionLike' },
        ],
      };
      const res = await send(body, await alice.bearer(SEND, `${SERVICE_DID}#bsky_fg`));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      expect(storedFor(alice.did)).toEqual([
        { actor: alice.did, post: popular[0], event: interactionCode(SEEN), reqId: 'req-1', feedContext: 'ctx-a' },
        { actor: alice.did, post: popular[1], event: interactionCode('app.bsky.feed.defs#clickthroughItem'), reqId: 'req-1', feedContext: null },
        { actor: alice.did, post: popular[2], event: interactionCode('app.bsky.feed.defs#requestMore'), reqId: null, feedContext: 'x'.repeat(2000) },
        { actor: alice.did, post: notInDb, event: interactionCode('app.bsky.feed.defs#interactionShare'), reqId: null, feedContext: null },
        { actor: alice.did, post: null, event: interactionCode('app.bsky.feed.defs#clickthroughEmbed'), reqId: null, feedContext: null },
        { actor: alice.did, post: null, event: interactionCode('app.bsky.feed.defs#interactionLike'), reqId: null, feedContext: null },
      ]);
    });

    it('stores every event of app.bsky.feed.defs under its code', async () => {
      const bob = await registerUser(ds.plc);
      const interactions = INTERACTION_EVENTS.map((event, i) => ({ item: popular[i % popular.length], event, reqId: `r${i}` }));
      const res = await send({ interactions }, await bob.bearer(SEND));
      expect(res.status).toBe(200);
      const rows = storedFor(bob.did);
      expect(rows.map((row) => row.event)).toEqual(INTERACTION_EVENTS.map((_, i) => i + 1));
      expect(rows.map((row) => row.reqId)).toEqual(INTERACTION_EVENTS.map((_, i) => `r${i}`));
    });

    it('accepts unknown event names but does not store them', async () => {
      const carol = await registerUser(ds.plc);
      const res = await send(
        {
          interactions: [
            { item: popular[0], event: 'app.bsky.feed.defs#somethingNew', reqId: 'u1' },
            { item: popular[1], event: 'com.example.feed#custom' },
            { item: popular[2] },
            { item: popular[3], event: SEEN, reqId: 'k1' },
          ],
        },
        await carol.bearer(SEND),
      );
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      expect(storedFor(carol.did)).toEqual([{ actor: carol.did, post: popular[3], event: interactionCode(SEEN), reqId: 'k1', feedContext: null }]);
      // Only unknown events: still 200, nothing stored.
      const none = await send({ interactions: [{ item: popular[0], event: 'app.bsky.feed.defs#somethingNew' }] }, await carol.bearer(SEND));
      expect(none.status).toBe(200);
      expect(storedFor(carol.did)).toHaveLength(1);
    });

    it('accepts exactly 100 interactions', async () => {
      const dave = await registerUser(ds.plc);
      const interactions = Array.from({ length: 100 }, (_, i) => ({ item: popular[i % popular.length], event: SEEN }));
      const res = await send({ interactions }, await dave.bearer(SEND));
      expect(res.status).toBe(200);
      expect(storedFor(dave.did)).toHaveLength(100);
    });
  });

  describe('bad requests', () => {
    let next = 0;
    const anyUser = () => pool[next++ % pool.length]!;

    async function expectRejected(body: unknown, status: number, error: string, raw = false) {
      const before = interactionCount();
      const res = await send(body, await anyUser().bearer(SEND), raw);
      expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(status);
      expect(await res.json()).toMatchObject({ error, message: expect.any(String) });
      expect(interactionCount()).toBe(before);
    }

    it('refuses more than 100 interactions with 400', async () => {
      const interactions = Array.from({ length: 101 }, (_, i) => ({ item: popular[i % popular.length], event: SEEN }));
      await expectRejected({ interactions }, 400, 'InvalidRequest');
    });

    it('refuses a body over 256 KiB with 413 PayloadTooLarge', async () => {
      const body = JSON.stringify({ interactions: [{ item: popular[0], event: SEEN, feedContext: 'x'.repeat(256 * 1024) }] });
      expect(Buffer.byteLength(body)).toBeGreaterThan(256 * 1024);
      await expectRejected(body, 413, 'PayloadTooLarge', true);
    });

    it('refuses a body in an unsupported charset with 415, not 500', async () => {
      const res = await fetch(`${ds.svc.baseUrl}/xrpc/${SEND}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=latin1', authorization: await anyUser().bearer(SEND) },
        body: '{"interactions":[]}',
      });
      expect(res.status).toBe(415);
      expect(await res.json()).toMatchObject({ error: 'InvalidRequest' });
    });

    it('refuses a body that is not JSON with 400', async () => {
      await expectRejected('interactions=seen', 400, 'InvalidRequest', true);
      await expectRejected('{"interactions": [', 400, 'InvalidRequest', true);
    });

    it.each([
      ['no interactions', {}],
      ['interactions not an array', { interactions: { item: 'x' } }],
      ['an array body', [{ event: SEEN }]],
      ['an interaction not an object', { interactions: ['seen'] }],
      ['an event not a string', { interactions: [{ event: 7 }] }],
      ['a reqId over 100 characters', { interactions: [{ event: SEEN, reqId: 'r'.repeat(101) }] }],
      ['feed not an AT-URI', { feed: 'https://example.com', interactions: [] }],
    ])('refuses %s with 400', async (_name, body) => {
      await expectRejected(body, 400, 'InvalidRequest');
    });

    it('refuses every invalid interop AT-URI as item with 400', async () => {
      const vectors = syntaxVectors('aturi_syntax_invalid');
      expect(vectors.length).toBeGreaterThan(50);
      for (const item of vectors) {
        const res = await send({ interactions: [{ item, event: SEEN }] }, await anyUser().bearer(SEND));
        expect(res.status, JSON.stringify(item)).toBe(400);
        expect(await res.json()).toMatchObject({ error: 'InvalidRequest' });
      }
      for (const user of pool) expect(storedFor(user.did)).toEqual([]);
    });

    it('refuses a feedContext over 2000 characters with 400', async () => {
      await expectRejected({ interactions: [{ item: popular[0], event: SEEN, feedContext: 'x'.repeat(2001) }] }, 400, 'InvalidRequest');
    });
  });

  describe('effect on the ranking', () => {
    it('leaves posts marked seen out of a fresh first page', async () => {
      const first = await skeleton(active, undefined, 30);
      expect(first.feed).toHaveLength(30);
      const seen = first.feed.slice(0, 5).map((item) => item.post);
      const res = await send({ feed: FEED_URI, interactions: seen.map((item) => ({ item, event: SEEN, reqId: first.reqId })) }, await active.bearer(SEND));
      expect(res.status).toBe(200);
      expect(storedFor(active.did).map((row) => row.post)).toEqual(seen);

      const fresh = await skeleton(active, undefined, 30);
      expect(fresh.reqId).not.toBe(first.reqId);
      const freshPosts = fresh.feed.map((item) => item.post);
      expect(freshPosts).toHaveLength(30);
      for (const post of seen) expect(freshPosts).not.toContain(post);
      // The rest of the first page moves up rather than vanishing.
      expect(freshPosts.slice(0, 10)).toContain(first.feed[5]!.post);
    });

    it('leaves every post by an author the user asked to see less of out of a fresh ranking', async () => {
      const before = await fullRanking(active);
      expect(new Set(before).size).toBe(before.length);
      // The author with the most posts in the ranking: the strongest case.
      const byAuthor = new Map<string, string[]>();
      for (const post of before) byAuthor.set(authorOf(post), [...(byAuthor.get(authorOf(post)) ?? []), post]);
      const [author, posts] = [...byAuthor.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
      expect(posts.length).toBeGreaterThan(1);

      const res = await send({ interactions: [{ item: posts[0], event: LESS }] }, await active.bearer(SEND));
      expect(res.status).toBe(200);

      const after = await fullRanking(active);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((post) => authorOf(post) === author)).toEqual([]);
      // Other authors are still there.
      expect(after.filter((post) => before.includes(post)).length).toBeGreaterThan(0);
    });
  });
});
