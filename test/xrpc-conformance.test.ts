import { Agent, AppBskyFeedGetFeedSkeleton, type AppBskyFeedDefs } from '@atproto/api';
import type { Lexicons } from '@atproto/lexicon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DatasetService,
  FEED_URI,
  fixtureLexicons,
  PUBLISHER_DID,
  registerUser,
  SERVICE_DID,
  type SignedUser,
  startDatasetService,
} from '../testkit/processes/feed-service.js';

const GET_FEED_SKELETON = 'app.bsky.feed.getFeedSkeleton';
const DESCRIBE = 'app.bsky.feed.describeFeedGenerator';
const SEND_INTERACTIONS = 'app.bsky.feed.sendInteractions';
const POST_URI = /^at:\/\/did:plc:[a-z2-7]{24}\/app\.bsky\.feed\.post\/[2-7a-z]{13}$/;

/**
 * The service as Bluesky's AppView sees it: the real @atproto/api client over HTTP,
 * every response body checked against the published lexicons.
 */
describe('XRPC conformance with the @atproto/api client', () => {
  let ds: DatasetService;
  let lex: Lexicons;
  let agent: Agent;
  let user: SignedUser;

  /** Every page of one ranking, following cursors; each body validated against the lexicon. */
  async function pages(auth: string | undefined, limit: number, maxPages: number) {
    const all: Array<{ feed: AppBskyFeedDefs.SkeletonFeedPost[]; cursor?: string; reqId?: string }> = [];
    let cursor: string | undefined;
    do {
      const res = await agent.app.bsky.feed.getFeedSkeleton(
        { feed: FEED_URI, limit, cursor },
        auth ? { headers: { authorization: auth } } : {},
      );
      expect(res.success).toBe(true);
      lex.assertValidXrpcOutput(GET_FEED_SKELETON, res.data);
      all.push(res.data);
      cursor = res.data.cursor;
    } while (cursor && all.length < maxPages);
    return all;
  }

  beforeAll(async () => {
    lex = fixtureLexicons();
    ds = await startDatasetService({ seed: 11, likes: 20_000 });
    agent = new Agent(ds.svc.baseUrl);
    user = await registerUser(ds.plc, ds.activeUser);
  }, 120_000);

  afterAll(async () => {
    await ds?.stop();
  });

  it('ingested the whole dataset', () => {
    expect(ds.stats.counts.like).toBeGreaterThan(19_000);
  });

  it('describeFeedGenerator answers a lexicon-valid description of this service', async () => {
    const res = await agent.app.bsky.feed.describeFeedGenerator();
    lex.assertValidXrpcOutput(DESCRIBE, res.data);
    expect(res.data.did).toBe(SERVICE_DID);
    expect(res.data.feeds).toEqual([{ uri: FEED_URI }]);
    expect(res.data.feeds[0]!.uri).toContain(PUBLISHER_DID);
  });

  it('getFeedSkeleton, anonymous: the popular list over several pages, never repeating a post', async () => {
    const all = await pages(undefined, 25, 6);
    expect(all.length).toBe(6);
    const posts = all.flatMap((page) => page.feed.map((item) => item.post));
    expect(posts.length).toBe(150);
    expect(new Set(posts).size).toBe(posts.length);
    for (const post of posts) expect(post).toMatch(POST_URI);
    // One ranking behind all pages: the same reqId throughout.
    expect(new Set(all.map((page) => page.reqId)).size).toBe(1);
    for (const page of all.slice(0, -1)) expect(page.cursor).toEqual(expect.any(String));
  });

  it('getFeedSkeleton, personalised with a real service JWT: its own list, paged without repeats', async () => {
    const auth = await user.bearer(GET_FEED_SKELETON, `${SERVICE_DID}#bsky_fg`);
    const personal = await pages(auth, 30, 5);
    expect(personal.length).toBe(5);
    const posts = personal.flatMap((page) => page.feed.map((item) => item.post));
    expect(posts.length).toBe(150);
    expect(new Set(posts).size).toBe(posts.length);
    for (const post of posts) expect(post).toMatch(POST_URI);
    expect(new Set(personal.map((page) => page.reqId)).size).toBe(1);

    const popular = (await pages(undefined, 30, 1))[0]!.feed.map((item) => item.post);
    const personalFirst = personal[0]!.feed.map((item) => item.post);
    expect(popular).toHaveLength(30);
    expect(personalFirst).not.toEqual(popular);
    // Not just reordered: at least a third of the personal first page is not on the popular one.
    const shared = personalFirst.filter((post) => popular.includes(post)).length;
    expect(shared).toBeLessThanOrEqual(20);
  });

  it('getFeedSkeleton: the cursor of a page continues the same ranking under the same reqId', async () => {
    const auth = await user.bearer(GET_FEED_SKELETON);
    const [first] = await pages(auth, 10, 1);
    const again = await agent.app.bsky.feed.getFeedSkeleton({ feed: FEED_URI, limit: 10, cursor: first!.cursor }, { headers: { authorization: auth } });
    lex.assertValidXrpcOutput(GET_FEED_SKELETON, again.data);
    expect(again.data.reqId).toBe(first!.reqId);
    const both = [...first!.feed, ...again.data.feed].map((item) => item.post);
    expect(new Set(both).size).toBe(20);
  });

  it('getFeedSkeleton errors reach the client as their lexicon errors', async () => {
    const unknown = await agent.app.bsky.feed
      .getFeedSkeleton({ feed: `at://${PUBLISHER_DID}/app.bsky.feed.generator/other` })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(unknown).toBeInstanceOf(AppBskyFeedGetFeedSkeleton.UnknownFeedError);
    const wrongMethod = await agent.app.bsky.feed
      .getFeedSkeleton({ feed: FEED_URI }, { headers: { authorization: await user.bearer(SEND_INTERACTIONS) } })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(wrongMethod).toMatchObject({ status: 401, error: 'BadJwtLexiconMethod' });
  });

  it('sendInteractions accepts lexicon-valid interactions about served posts and answers a valid empty output', async () => {
    const page = (await pages(await user.bearer(GET_FEED_SKELETON), 10, 1))[0]!;
    const input = {
      feed: FEED_URI,
      interactions: [
        { item: page.feed[0]!.post, event: 'app.bsky.feed.defs#interactionSeen', reqId: page.reqId },
        { item: page.feed[1]!.post, event: 'app.bsky.feed.defs#clickthroughItem', reqId: page.reqId, feedContext: 'ctx' },
        { item: page.feed[2]!.post, event: 'app.bsky.feed.defs#someFutureEvent' },
      ],
    };
    lex.assertValidXrpcInput(SEND_INTERACTIONS, input);
    const res = await agent.app.bsky.feed.sendInteractions(input, {
      encoding: 'application/json',
      headers: { authorization: await user.bearer(SEND_INTERACTIONS, `${SERVICE_DID}#bsky_fg`) },
    });
    expect(res.success).toBe(true);
    lex.assertValidXrpcOutput(SEND_INTERACTIONS, res.data);
    expect(res.data).toEqual({});

    const anonymous = await agent.app.bsky.feed.sendInteractions(input, { encoding: 'application/json' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(anonymous).toMatchObject({ status: 401 });
  });
});
