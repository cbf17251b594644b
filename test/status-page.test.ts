import { mkdirSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type JetstreamReplayServer, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { createLogger } from '../src/observability/logger.js';
import { FeedService } from '../src/roles/service.js';
import { escapeHtml, html, renderStatusPage, sparkline } from '../src/http/pages/status-page.js';
import { bucketGrowth, bucketQuantile, counterRate, Series } from '../src/observability/status/series.js';
import type { StatusReading } from '../src/observability/status/sampler.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { launchChromium } from './support/browser.js';
import { metricValue, testConfig, waitFor } from '../testkit/processes/service.js';


describe('status series', () => {
  it('keeps only the newest points, oldest first', () => {
    const series = new Series(3);
    expect(series.latest()).toBeUndefined();
    for (let t = 1; t <= 5; t++) series.push(t, t * 10);
    expect(series.points()).toEqual([
      { t: 3, value: 30 },
      { t: 4, value: 40 },
      { t: 5, value: 50 },
    ]);
    expect(series.latest()).toBe(50);
    series.push(6, undefined);
    expect(series.points().map((p) => p.t)).toEqual([4, 5, 6]);
    expect(series.latest()).toBeUndefined();
    expect(() => new Series(0)).toThrow(/positive integer/);
  });

  it('turns counter growth into a rate, and refuses a first reading or a reset', () => {
    expect(counterRate(100, 160, 10)).toBe(6);
    expect(counterRate(undefined, 160, 10)).toBeUndefined();
    expect(counterRate(160, 20, 10)).toBeUndefined();
    expect(counterRate(100, 160, 0)).toBeUndefined();
  });

  it('estimates percentiles from the growth of histogram buckets, as histogram_quantile does', () => {
    const before = [
      { le: 0.01, count: 50 },
      { le: 0.1, count: 50 },
      { le: 1, count: 50 },
      { le: Infinity, count: 50 },
    ];
    // 100 new requests: 40 under 10 ms, 50 between 10 and 100 ms, 9 up to 1 s, 1 slower.
    const after = [
      { le: 0.01, count: 90 },
      { le: 0.1, count: 140 },
      { le: 1, count: 149 },
      { le: Infinity, count: 150 },
    ];
    const grown = bucketGrowth(before, after);
    expect(grown.map((b) => b.count)).toEqual([40, 90, 99, 100]);
    expect(bucketQuantile(0.5, grown)).toBeCloseTo(0.01 + 0.09 * (10 / 50));
    expect(bucketQuantile(0.99, grown)).toBeCloseTo(1);
    expect(bucketQuantile(0.995, grown)).toBe(1); // in +Inf's bucket: the largest finite bound
    expect(bucketQuantile(0.5, bucketGrowth(after, after))).toBeUndefined();
    expect(bucketQuantile(0.5, [])).toBeUndefined();
  });
});

describe('status page rendering', () => {
  it('escapes every interpolated value and keeps marked-up parts', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${['<', 1]}${undefined}</p>`.text).toBe('<p><b>&#60;i&#62;</b>&#60;1</p>');
  });

  it('breaks a chart line where a sample was unknown and places points by time', () => {
    const now = 3_600_000;
    const points = [
      { t: 0, value: 1 },
      { t: 1_800_000, value: 2 },
      { t: 2_700_000, value: undefined },
      { t: now, value: 4 },
    ];
    const svg = sparkline({ name: 'likes', title: 'likes', format: String }, points, now).text;
    const lines = [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]);
    expect(lines).toEqual(['0.0,36.0 120.0,24.0', '240.0,0.0']);
  });

  it('shows a dash for what is unknown, and a replica its lag instead of Litestream', () => {
    const page = renderStatusPage({
      role: 'replica',
      region: undefined,
      version: '1.2.3',
      reading: undefined,
      points: () => [],
      now: Date.now(),
      refreshSeconds: 10,
    });
    expect(page).toContain('<dt>lag behind the primary</dt><dd>—</dd>');
    expect(page).toContain('region <span id="region">—</span>');
    expect(page).not.toContain('Litestream');
    expect(page).not.toContain('id="ingest"');
  });

  it("says why ingest is paused, where the graph was loaded from, and a replica's fresh restores", () => {
    const reading = {
      ingestPaused: 'disk_guard',
      graphLoads: { snapshot: 1 },
      restores: { restored_past_damage: 1, new_generation: 2 },
      follows: { fetches: { ok: 3, timeout: 1 }, cachedUsers: 3, rankingsFromFollows: 2, rankings: 1234 },
      requests: {},
    } as unknown as StatusReading;
    const page = (role: 'primary' | 'replica') => renderStatusPage({ role, region: 'ams', version: '1', reading, points: () => [], now: Date.now(), refreshSeconds: 10 });
    expect(page('primary')).toContain('<dt>paused</dt><dd>yes: the data volume is past DISK_GUARD_PERCENT (resumes once it drains)</dd>');
    expect(page('primary')).toContain('<dt>loaded from</dt><dd>snapshot ×1</dd>');
    expect(page('replica')).toContain("<dt>primary&#39;s ingest paused</dt><dd>yes: the data volume is past DISK_GUARD_PERCENT (resumes once it drains)</dd>");
    expect(page('replica')).toContain('<dt>fresh restores</dt><dd>restored_past_damage ×1, new_generation ×2</dd>');
    expect(page('replica')).toContain('<dt>first pages from follows</dt><dd>2 of 1,234</dd><dt>follows fetches</dt><dd>ok ×3, timeout ×1</dd><dt>users with follows cached</dt><dd>3</dd>');
  });
});

describe('status page of a running service', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function replay(lines: readonly string[]): Promise<JetstreamReplayServer> {
    const server = await startJetstreamReplay({ lines });
    cleanups.push(() => server.close());
    return server;
  }

  /** A primary that ingests the real capture, sampled by hand (no timer). */
  async function startPrimaryWithCapture(env: Record<string, string> = {}) {
    const jetstream = await replay(jsonlLines(CAPTURE_FILE));
    // The capture is older than the default retention: keep its likes from being pruned meanwhile.
    const config = testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe`, RETENTION_DAYS: '3650', ...env });
    const service = FeedService.create(config, { log: createLogger('silent'), statusSampleMs: 0 });
    await service.start();
    cleanups.push(async () => {
      await service.stop();
      rmSync(config.dataDir, { recursive: true, force: true });
    });
    const baseUrl = `http://127.0.0.1:${service.port()}`;
    const likesStored = () =>
      waitFor(async () => {
        const text = await (await fetch(`${baseUrl}/metrics`)).text();
        return metricValue(text, 'feedgen_likes') === 105 ? true : undefined;
      }, 10_000, 'all likes stored');
    return { service, config, baseUrl, likesStored };
  }

  it('shows what the primary ingested, with a chart point per sample, escaped', async () => {
    const region = `<b>"ams"&</b>`;
    const { service, config, baseUrl, likesStored } = await startPrimaryWithCapture({ FLY_REGION: region });

    // 1. A sample before ingest has finished, then one after: two points per chart.
    await service.status.sample();
    await likesStored();
    await service.status.sample();

    // 2. A few feed requests, timed into the third sample's window.
    await waitFor(async () => ((await (await fetch(`${baseUrl}/xrpc/_health`)).json()).ready ? true : undefined), 10_000, 'feed ready');
    const feed = `at://${config.feedgen.publisherDid}/app.bsky.feed.generator/${config.feedgen.feedRkeys[0]}`;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${baseUrl}/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(feed)}`);
      expect(res.status).toBe(200);
    }
    const reading = await service.status.sample();
    expect(reading.requests.perSecond).toBeGreaterThan(0);
    expect(reading.requests.p99Seconds).toBeGreaterThan(0);

    const res = await fetch(`${baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();

    expect(page).toContain('<span id="role">primary</span>');
    expect(page).toContain('<dt>likes in the window</dt><dd>105</dd>');
    expect(page).toContain('<dt>preset</dt><dd>default</dd><dt>follows</dt><dd>off</dd>');
    expect(page).toMatch(/<dt>Jetstream lag<\/dt><dd>[\d.]+ (ms|s|h|d)<\/dd>/);
    expect(page).toMatch(/<dt>p99<\/dt><dd>[\d.]+ (ms|s)<\/dd>/);
    expect(page).toContain('<dt>up</dt><dd>—</dd>'); // no Litestream outside the launcher
    expect(page).toContain('<dt>paused</dt><dd>no</dd>');
    expect(page).toMatch(/<dt>data volume used<\/dt><dd>[\d.]+ %<\/dd>/);
    expect(page).toContain('<dt>loaded from</dt><dd>database (missing) ×1</dd>');
    const likesChart = /<figure id="chart-likes">[\s\S]*?<\/figure>/.exec(page)?.[0] ?? '';
    const polylines = [...likesChart.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]!);
    expect(polylines).toHaveLength(1);
    expect(polylines[0]!.split(' ')).toHaveLength(3);
    // The ingest rate needs two samples: its line starts at the second.
    expect(page).toMatch(/<figure id="chart-ingestPerSecond">[\s\S]*?<polyline points="\S+ \S+"\/>/);

    expect(page).toContain('&#60;b&#62;&#34;ams&#34;&#38;&#60;/b&#62;');
    expect(page).not.toContain(region);
  });
  it('renders in headless Chromium with live charts', async () => {
    const { service, baseUrl, likesStored } = await startPrimaryWithCapture();
    await service.status.sample();
    await likesStored();
    await service.status.sample();
    await service.status.sample();

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    expect((await page.goto(`${baseUrl}/`))?.status()).toBe(200);
    expect(await page.textContent('#role')).toBe('primary');
    // Each chart is drawn: its SVG has a size on the page, and the likes line has a point per sample.
    const charts = await page.$$eval('figure svg', (svgs) => svgs.map((svg) => svg.getBoundingClientRect().width));
    expect(charts.length).toBeGreaterThanOrEqual(4);
    expect(charts.every((width) => width > 0)).toBe(true);
    const likes = await page.$eval('#chart-likes polyline', (line) => (line as SVGPolylineElement).points.numberOfItems);
    expect(likes).toBe(3);
    // The like graph against its budget: nothing of the window left out at this size.
    const graph = (await page.textContent('#graph')) ?? '';
    expect(graph).toMatch(/memory budget\s*[\d.,]+\s*[KMG]iB/);
    expect(graph).toMatch(/likes of the window left out\s*0(?!\d)/);
    // Nothing wider than the window: no horizontal scrolling.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1000);
    expect(errors).toEqual([]);
    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/status-page.png', fullPage: true });
  }, 60_000);
});
