import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURE_FILE, jsonlLines, syntaxVectors } from '../testkit/fixtures.js';
import { startJetstreamReplay, type JetstreamReplayServer } from '../testkit/standins/jetstream-server.js';
import { startTestService, testConfig, waitFor } from '../testkit/processes/service.js';

const PUBLISHER = 'did:plc:publisherxxxxxxxxxxxxxxx';
const FEED = `at://${PUBLISHER}/app.bsky.feed.generator/for-you`;

describe('XRPC feed routes', () => {
  let jetstream: JetstreamReplayServer;
  let svc: Awaited<ReturnType<typeof startTestService>>;
  const get = (path: string, init?: RequestInit) => fetch(`${svc.baseUrl}${path}`, init);
  const skeleton = (params: Record<string, string>) => get(`/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams(params)}`);

  beforeAll(async () => {
    jetstream = await startJetstreamReplay({ lines: jsonlLines(CAPTURE_FILE) });
    svc = await startTestService(
      testConfig({
        JETSTREAM_URL: `${jetstream.url}/subscribe`,
        FEEDGEN_HOSTNAME: 'feed.example.com',
        FEEDGEN_PUBLISHER_DID: PUBLISHER,
        GRAPH_POLL_MS: '50',
      }),
    );
    await waitFor(async () => ((await (await get('/xrpc/_health')).json()) as { ready: boolean }).ready || undefined, 20_000, 'ready');
  });
  afterAll(async () => {
    await svc?.stop();
    await jetstream?.close();
  });

  it('describes the feed generator', async () => {
    const res = await get('/xrpc/app.bsky.feed.describeFeedGenerator');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ did: 'did:web:feed.example.com', feeds: [{ uri: FEED }] });
  });

  it('lists the policy links when they are configured', async () => {
    const withLinks = await startTestService(
      testConfig({
        JETSTREAM_URL: `${jetstream.url}/subscribe`,
        FEEDGEN_PUBLISHER_DID: PUBLISHER,
        FEEDGEN_PRIVACY_POLICY_URL: 'https://feed.example.com/privacy',
        FEEDGEN_TERMS_OF_SERVICE_URL: 'https://feed.example.com/terms',
      }),
    );
    try {
      const body = await (await fetch(`${withLinks.baseUrl}/xrpc/app.bsky.feed.describeFeedGenerator`)).json();
      expect(body).toMatchObject({ links: { privacyPolicy: 'https://feed.example.com/privacy', termsOfService: 'https://feed.example.com/terms' } });
    } finally {
      await withLinks.stop();
    }
  });

  it('serves the did:web document with the #bsky_fg service', async () => {
    const doc = await (await get('/.well-known/did.json')).json();
    expect(doc).toMatchObject({
      id: 'did:web:feed.example.com',
      service: [{ id: '#bsky_fg', type: 'BskyFeedGenerator', serviceEndpoint: 'https://feed.example.com' }],
    });
  });

  it('answers an anonymous request with the popular list, paged by cursor', async () => {
    const res = await skeleton({ feed: FEED, limit: '3' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { feed: Array<{ post: string }>; cursor?: string; reqId: string };
    expect(body.reqId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Array.isArray(body.feed)).toBe(true);
    for (const item of body.feed) expect(item.post).toMatch(/^at:\/\/did:[a-z]+:[^/]+\/app\.bsky\.feed\.post\/.+$/);
  });

  it.each([
    [{ limit: '10' }, 400, 'InvalidRequest'],
    [{ feed: 'not a uri' }, 400, 'InvalidRequest'],
    [{ feed: `at://${PUBLISHER}/app.bsky.feed.generator/other` }, 400, 'UnknownFeed'],
    [{ feed: 'at://did:plc:someoneelsexxxxxxxxxxxxx/app.bsky.feed.generator/for-you' }, 400, 'UnknownFeed'],
    [{ feed: FEED, limit: '0' }, 400, 'InvalidRequest'],
    [{ feed: FEED, limit: '101' }, 400, 'InvalidRequest'],
    [{ feed: FEED, limit: '1e3' }, 400, 'InvalidRequest'],
    [{ feed: FEED, cursor: 'x'.repeat(300) }, 400, 'InvalidRequest'],
    [{ feed: FEED, cursor: 'not-a-cursor' }, 400, 'InvalidRequest'],
  ])('answers %j with %i %s', async (params, status, error) => {
    const res = await skeleton(params as Record<string, string>);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error, message: expect.any(String) });
  });

  it('gives every anonymous first page of one popular list the same reqId', async () => {
    const first = (await (await skeleton({ feed: FEED, limit: '2' })).json()) as { reqId: string };
    const second = (await (await skeleton({ feed: FEED, limit: '2' })).json()) as { reqId: string };
    expect(second.reqId).toBe(first.reqId);
  });

  it('answers a repeated parameter with 400, not 500', async () => {
    const res = await get(`/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(FEED)}&feed=${encodeURIComponent(FEED)}`);
    expect(res.status).toBe(400);
  });

  it('answers every invalid interop AT-URI, DID and record key given as feed with 400', async () => {
    const bad = [
      ...syntaxVectors('aturi_syntax_invalid'),
      ...syntaxVectors('did_syntax_invalid').map((did) => `at://${did}/app.bsky.feed.generator/for-you`),
      ...syntaxVectors('recordkey_syntax_invalid').map((rkey) => `at://${PUBLISHER}/app.bsky.feed.generator/${rkey}`),
    ];
    for (const feed of bad) {
      const res = await skeleton({ feed });
      expect(res.status, feed).toBe(400);
    }
  });

  it('refuses a JWT it cannot verify with 401, never a 500', async () => {
    const res = await skeleton({ feed: FEED });
    expect(res.status).toBe(200);
    const withJwt = await get(`/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(FEED)}`, {
      headers: { authorization: 'Bearer not.a.jwt' },
    });
    expect(withJwt.status).toBe(401);
  });

  it('answers unknown methods with an XRPC error', async () => {
    const res = await get('/xrpc/app.bsky.feed.getTimeline');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'MethodNotImplemented' });
  });
});
