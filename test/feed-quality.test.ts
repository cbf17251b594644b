import { afterAll, describe, expect, it } from 'vitest';
import { feedQuality, type FeedbackSource, ServedLog, type ServedPage } from '../src/feed/served-log.js';
import { waitFor } from '../testkit/processes/service.js';
import { authorOf, type DatasetService, FEED_URI, registerUser, startDatasetService } from '../testkit/processes/feed-service.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1, 12);

const page = (atMs: number, user: number, preset: string, posts: number[]): ServedPage => ({
  atMs,
  reqId: `r${atMs}`,
  user,
  preset,
  posts: Float64Array.from(posts),
  authors: Int32Array.from(posts, (post) => post + 1000),
});

/** Hand-built answers: likes as [user, post, atMs], less requests as [user, author, atMs]; post p's author is p + 1000. */
function source(likes: Array<[number, number, number]>, less: Array<[number, number, number]> = []): FeedbackSource {
  return {
    forEachLike: (user, visit) => {
      const newestFirst = likes.filter(([u]) => u === user).sort((a, b) => b[2] - a[2]);
      for (const [, post, atMs] of newestFirst) if (visit(post, atMs) === false) return;
    },
    lessRequests: (user, sinceMs) => less.filter(([u, , at]) => u === user && at > sinceMs).map(([, author, atMs]) => ({ author, atMs })),
  };
}

describe('feed quality', () => {
  it('counts a like only after serving and within 24 h', () => {
    const pages = [page(T0, 1, 'default', [10, 11, 12, 13])];
    const rows = feedQuality(
      pages,
      source([
        [1, 10, T0 - 1], // before serving
        [1, 11, T0 + HOUR], // counts
        [1, 12, T0 + 25 * HOUR], // too late
        [2, 13, T0 + HOUR], // someone else
      ]),
    );
    expect(rows).toEqual([{ day: '2024-05-01', preset: 'default', pages: 1, served: 4, liked: 1, showLess: 0 }]);
  });

  it('counts show-less by the served post author, after serving', () => {
    const pages = [page(T0, 1, 'default', [10, 11, 12])];
    const less: Array<[number, number, number]> = [
      [1, 1010, T0 + HOUR], // counts
      [1, 1011, T0 - HOUR], // before serving
      [1, 1012, T0 + 30 * HOUR], // too late
    ];
    const rows = feedQuality(pages, source([], less));
    expect(rows[0]).toMatchObject({ served: 3, liked: 0, showLess: 1 });
  });

  it('groups by UTC day and preset, newest day first', () => {
    const pages = [
      page(T0 - 24 * HOUR, 1, 'default', [1]),
      page(T0, 1, 'fast', [2, 3]),
      page(T0, 2, 'default', [4]),
      page(T0 + HOUR, 2, 'default', [5]),
    ];
    const rows = feedQuality(pages, source([[1, 1, T0 - 23 * HOUR], [2, 5, T0 + 2 * HOUR]]));
    expect(rows.map((r) => [r.day, r.preset, r.pages, r.served, r.liked])).toEqual([
      ['2024-05-01', 'default', 2, 2, 1],
      ['2024-05-01', 'fast', 1, 2, 0],
      ['2024-04-30', 'default', 1, 1, 1],
    ]);
  });

  it('keeps the log within its window and item budget, dropping the oldest', () => {
    const log = new ServedLog({ windowMs: 10 * HOUR, maxItems: 5 });
    log.record(page(T0, 1, 'default', [1, 2]));
    log.record(page(T0 + HOUR, 1, 'default', [3, 4]));
    expect(log.itemCount).toBe(4);
    log.record(page(T0 + 2 * HOUR, 1, 'default', [5, 6]));
    expect(log.pages(T0 + 2 * HOUR).map((p) => p.atMs)).toEqual([T0 + HOUR, T0 + 2 * HOUR]);
    expect(log.itemCount).toBe(4);
    expect(log.pages(T0 + 11 * HOUR + 1).map((p) => p.atMs)).toEqual([T0 + 2 * HOUR]);
    expect(log.pages(T0 + 13 * HOUR).length).toBe(0);
    expect(log.itemCount).toBe(0);
  });
});

describe('feed quality on the status page of a running service', () => {
  let ds: DatasetService | undefined;
  afterAll(async () => {
    await ds?.stop();
  });

  it('shows a signed-in first page as one served page, and a show-less of one of its authors', async () => {
    ds = await startDatasetService({ seed: 41, likes: 10_000 });
    const user = await registerUser(ds.plc, ds.activeUser);
    const url = `${ds.svc.baseUrl}/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(FEED_URI)}&limit=30`;
    const signed = async () => ({ headers: { authorization: await user.bearer('app.bsky.feed.getFeedSkeleton') } });
    const res = await fetch(url, await signed());
    expect(res.status).toBe(200);
    const body = (await res.json()) as { feed: Array<{ post: string }>; cursor?: string };
    expect(body.feed.length).toBeGreaterThan(0);
    // A next page and an anonymous page are not first pages of a personal ranking.
    if (body.cursor) expect((await fetch(`${url}&cursor=${encodeURIComponent(body.cursor)}`, await signed())).status).toBe(200);
    await fetch(url);

    // "Show less" of the first post's author: each served post of theirs counts.
    const first = body.feed[0]!.post;
    const sent = await fetch(`${ds.svc.baseUrl}/xrpc/app.bsky.feed.sendInteractions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: await user.bearer('app.bsky.feed.sendInteractions') },
      body: JSON.stringify({ interactions: [{ item: first, event: 'app.bsky.feed.defs#requestLess' }] }),
    });
    expect(sent.status).toBe(200);
    const byThatAuthor = body.feed.filter((item) => authorOf(item.post) === authorOf(first)).length;

    const rows = await waitFor(async () => {
      await ds!.svc.service.status.sample(Date.now(), { freshQuality: true }); // the periodic one recomputes every 5 min
      const page = await (await fetch(`${ds!.svc.baseUrl}/`)).text();
      const section = /<section id="feed-quality">[\s\S]*?<\/section>/.exec(page)?.[0] ?? '';
      const found = [...section.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)];
      return found[0]?.[6] === '0.0 %' ? undefined : found; // the interaction is written by the writer thread
    }, 10_000, 'the show-less request counted');
    expect(rows).toHaveLength(1);
    const [, day, preset, pages, served, likeThrough, showLess] = rows[0]!;
    expect(day).toBe(new Date().toISOString().slice(0, 10));
    expect(preset).toBe('default');
    expect(pages).toBe('1');
    expect(served).toBe(String(body.feed.length));
    expect(likeThrough).toBe('0.0 %');
    expect(showLess).toBe(`${((100 * byThatAuthor) / body.feed.length).toFixed(1)} %`);
  }, 120_000);
});
