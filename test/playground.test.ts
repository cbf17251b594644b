import type { Database } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReader } from '../src/store/database.js';
import { splitPostUri } from '../src/atproto/identifiers.js';
import { renderPlaygroundPage } from '../src/http/pages/playground-page.js';
import { launchChromium } from './support/browser.js';
import { type DatasetService, FEED_URI, registerUser, startDatasetService } from '../testkit/processes/feed-service.js';

const GET_FEED_SKELETON = 'app.bsky.feed.getFeedSkeleton';
/** The playground shows one feed page. */
const PAGE = 30;

/** The ranked posts on a page, each with its co-likers and their shared seeds, in order. */
function rankedOn(page: string): Array<{ uri: string; colikers: Array<{ did: string; seeds: string[] }> }> {
  return [...page.matchAll(/<li class="post" data-uri="([^"]+)">([\s\S]*?)<\/ul><\/li>/g)].map((m) => ({
    uri: unescape(m[1]!),
    colikers: [...m[2]!.matchAll(/<li class="coliker" data-did="([^"]+)">([\s\S]*?)<\/li>/g)].map((c) => ({
      did: unescape(c[1]!),
      seeds: [...c[2]!.matchAll(/<a class="seed" href="[^"]*">([^<]+)<\/a>/g)].map((s) => unescape(s[1]!)),
    })),
  }));
}

const unescape = (text: string) => text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

describe('playground page rendering', () => {
  it('escapes what was typed and every shown value', () => {
    const hostile = `"><script>alert(1)</script>`;
    const page = renderPlaygroundPage({ actor: hostile, message: `<b>${hostile}</b>` });
    expect(page).not.toContain('<script>');
    expect(page).toContain('value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
  });
});

describe('playground of a running service', () => {
  let ds: DatasetService;
  let reader: Database;
  const playground = (actor?: string) => fetch(`${ds.svc.baseUrl}/playground${actor === undefined ? '' : `?${new URLSearchParams({ actor })}`}`);

  // A stand-in identity service: com.atproto.identity.resolveHandle for the handles below.
  const handles = new Map<string, string>();
  const identity = createServer((req, res) => {
    const did = handles.get(new URL(req.url ?? '/', 'http://id').searchParams.get('handle') ?? '');
    res.writeHead(did ? 200 : 400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(did ? { did } : { error: 'InvalidRequest', message: 'Unable to resolve handle' }));
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => identity.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(identity.address() as AddressInfo).port}`;
    ds = await startDatasetService({ seed: 31, likes: 10_000, env: { HANDLE_RESOLVER_URL: url } });
    handles.set('alice.test', ds.activeUser);
    reader = openReader(ds.config.dbPath, { busyTimeoutMs: 1000 });
  }, 120_000);

  afterAll(async () => {
    reader?.close();
    await ds?.stop();
    identity.close();
  });

  /** Whether `did` has a live like of the post `uri`, in the database itself. */
  function liked(did: string, uri: string): boolean {
    const { authorDid, rkey } = splitPostUri(uri);
    return (
      reader
        .prepare<[string, string, string], { n: number }>(
          `SELECT count(*) AS n FROM likes l JOIN actors a ON a.id = l.actor_id JOIN posts p ON p.id = l.post_id
           JOIN actors author ON author.id = p.author_id
           WHERE a.did = ? AND author.did = ? AND p.rkey = ? AND l.deleted = 0`,
        )
        .get(did, authorDid, rkey)!.n > 0
    );
  }

  // One test, in order: the rate limit counts every request from this address.
  it('works in headless Chromium: type a DID, submit, read the ranked posts and their reasons', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(String(err)));
      await page.goto(`${ds.svc.baseUrl}/playground`);
      await page.fill('#actor', ds.activeUser);
      await Promise.all([page.waitForURL(/actor=/), page.click('button[type=submit]')]);
      const posts = await page.$$eval('#feed > li.post', (items) => items.map((li) => li.querySelectorAll('li.coliker').length));
      expect(posts.length).toBe(PAGE);
      expect(posts.every((colikers) => colikers > 0)).toBe(true);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1000);
      expect(errors).toEqual([]);
      mkdirSync('test-output', { recursive: true });
      await page.screenshot({ path: 'test-output/playground.png', fullPage: false });
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('shows the feed page with its reasons, refuses bad input, and rate-limits', async () => {
    // 1. The active user's page: exactly the feed's first page, each post with a real co-liker.
    const res = await playground(ds.activeUser);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    const shown = rankedOn(page);

    const user = await registerUser(ds.plc, ds.activeUser);
    const feedRes = await fetch(`${ds.svc.baseUrl}/xrpc/${GET_FEED_SKELETON}?${new URLSearchParams({ feed: FEED_URI, limit: String(PAGE) })}`, {
      headers: { authorization: await user.bearer(GET_FEED_SKELETON) },
    });
    expect(feedRes.status).toBe(200);
    const feed = ((await feedRes.json()) as { feed: Array<{ post: string }> }).feed.map((item) => item.post);
    expect(feed).toHaveLength(PAGE);
    expect(shown.map((p) => p.uri)).toEqual(feed);

    for (const post of shown) {
      expect(post.colikers.length, post.uri).toBeGreaterThan(0);
      for (const coliker of post.colikers) {
        expect(coliker.did).not.toBe(ds.activeUser);
        expect(liked(coliker.did, post.uri), `${coliker.did} liked ${post.uri}`).toBe(true);
        // The shared seeds: liked by both the user and the co-liker.
        for (const seed of coliker.seeds) expect(liked(coliker.did, seed) && liked(ds.activeUser, seed), seed).toBe(true);
      }
    }
    expect(shown.some((p) => p.colikers.some((c) => c.seeds.length > 0))).toBe(true);

    // 2. A hostile value comes back escaped, as a 400.
    const hostile = `did:x"><script>alert(1)</script>`;
    const hostileRes = await playground(hostile);
    expect(hostileRes.status).toBe(400);
    const hostilePage = await hostileRes.text();
    expect(hostilePage).not.toContain('<script>');
    expect(hostilePage).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');

    // 3. A handle ranks its DID's feed; an unknown handle: 404; garbage: 400; an unknown DID: 404.
    const byHandle = await playground('alice.test');
    expect(byHandle.status).toBe(200);
    expect(rankedOn(await byHandle.text()).map((post) => post.uri)).toEqual(shown.map((post) => post.uri));
    const noHandle = await playground('nobody.test');
    expect(noHandle.status).toBe(404);
    expect(await noHandle.text()).toContain('<p id="message">No account has this handle.</p>');
    const garbage = await playground('not a did');
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toContain('<p id="message">That is neither a DID nor a handle.</p>');
    const unknown = await playground('did:plc:unknownunknownunknownun');
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('<p id="message">No likes nor follows of this DID are known.</p>');

    // 4. The empty form is free of messages; then the burst runs out (2/s, burst 10).
    const empty = await playground();
    expect(empty.status).toBe(200);
    expect(await empty.text()).not.toContain('id="message"');
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await playground('did:plc:unknownunknownunknownun')).status);
    expect(statuses).toContain(429);
    const limited = await playground(ds.activeUser);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
  }, 60_000);
});
