import { afterEach, describe, expect, it } from 'vitest';
import { openReader } from '../src/store/database.js';
import { splitPostUri } from '../src/atproto/identifiers.js';
import { parseFrame } from '../src/ingest/parse.js';
import { type JetstreamReplayServer, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { startFrameListServer } from '../testkit/standins/frame-list-server.js';
import { likeFingerprint } from '../testkit/processes/db.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { metricValue, startTestService, testConfig, waitFor } from '../testkit/processes/service.js';

/** The likes of the capture, as likeFingerprint() spells them. */
function expectedLikes(lines: string[]): string[] {
  const keys = new Set<string>();
  for (const line of lines) {
    const result = parseFrame(Buffer.from(line), false, 1 << 20);
    if (result.outcome !== 'event' || result.event.type !== 'like') continue;
    const { did, rkey, subjectUri } = result.event;
    const subject = splitPostUri(subjectUri);
    keys.add(`${did}|${rkey}|${subject.authorDid}|${subject.rkey}`);
  }
  return [...keys].sort();
}

describe('ingest from a Jetstream server over loopback', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function replay(lines: readonly string[], options: { withSequence?: boolean } = {}): Promise<JetstreamReplayServer> {
    const server = await startJetstreamReplay({ lines, ...options });
    cleanups.push(() => server.close());
    return server;
  }

  it('stores every like of the real capture exactly once, with metrics and the cursor', async () => {
    const lines = jsonlLines(CAPTURE_FILE);
    const jetstream = await replay(lines);
    const config = testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe` });
    const svc = await startTestService(config);
    cleanups.push(svc.stop);

    const metrics = await waitFor(async () => {
      const text = await (await fetch(`${svc.baseUrl}/metrics`)).text();
      return metricValue(text, 'feedgen_ingest_events_total', { kind: 'like', outcome: 'stored' }) === 105 ? text : undefined;
    }, 10_000, 'all likes stored');

    expect(jetstream.stats().requests[0]!.wantedCollections.sort()).toEqual([
      'app.bsky.feed.like',
      'app.bsky.feed.post',
      'app.bsky.graph.follow',
    ]);
    expect(metricValue(metrics, 'feedgen_ingest_events_total', { kind: 'commit', outcome: 'rejected' })).toBe(0);
    expect(metricValue(metrics, 'feedgen_likes')).toBe(105);
    expect(metricValue(metrics, 'feedgen_ingest_cursor_time_us')).toBeGreaterThan(1.78e15);
    expect(metricValue(metrics, 'feedgen_db_bytes')).toBeGreaterThan(0);
    // The writer thread reports its own heap, which the process metrics do not see.
    const writerHeapUsed = metricValue(metrics, 'feedgen_writer_heap_bytes', { kind: 'used' });
    expect(writerHeapUsed).toBeGreaterThan(1e6);
    expect(writerHeapUsed).toBeLessThanOrEqual(metricValue(metrics, 'feedgen_writer_heap_bytes', { kind: 'total' }));

    const reader = openReader(config.dbPath, { busyTimeoutMs: 1000 });
    try {
      expect(likeFingerprint(reader)).toEqual(expectedLikes(lines));
    } finally {
      reader.close();
    }

    const health = await (await fetch(`${svc.baseUrl}/xrpc/_health`)).json();
    expect(health).toMatchObject({ role: 'primary', version: expect.any(String) });
  });

  it('resumes from the stored cursor after a restart without duplicating a like', async () => {
    const lines = jsonlLines(CAPTURE_FILE);
    const jetstream = await replay(lines);
    const config = testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe` });
    const first = await startTestService(config, { keepData: true });
    await waitFor(async () => {
      const text = await (await fetch(`${first.baseUrl}/metrics`)).text();
      return metricValue(text, 'feedgen_likes') === 105 ? true : undefined;
    });
    await first.stop();

    const second = await startTestService(config);
    cleanups.push(second.stop);
    // The second connection asks for a rewound time cursor and gets the whole short capture again.
    await waitFor(() => (jetstream.stats().connections === 2 ? true : undefined));
    const cursor = Number(jetstream.stats().requests[1]!.cursor);
    expect(cursor).toBeGreaterThan(1.78e15);
    const text = await waitFor(async () => {
      const t = await (await fetch(`${second.baseUrl}/metrics`)).text();
      return metricValue(t, 'feedgen_ingest_events_total', { kind: 'like', outcome: 'duplicate' }) > 0 ? t : undefined;
    });
    expect(metricValue(text, 'feedgen_ingest_events_total', { kind: 'like', outcome: 'stored' })).toBe(0);
    expect(metricValue(text, 'feedgen_likes')).toBe(105);
  });

  it('fails over to the next host and resumes by sequence on hosts that number events', async () => {
    const lines = jsonlLines(CAPTURE_FILE);
    const jetstream = await replay(lines, { withSequence: true });
    // The first host refuses connections: nothing listens on port 1.
    const config = testConfig({ JETSTREAM_URL: `ws://127.0.0.1:1/subscribe,${jetstream.url}/subscribe` });
    const svc = await startTestService(config);
    cleanups.push(svc.stop);
    await waitFor(async () => {
      const t = await (await fetch(`${svc.baseUrl}/metrics`)).text();
      return metricValue(t, 'feedgen_likes') === 105 ? true : undefined;
    });
    jetstream.dropConnections();
    await waitFor(() => (jetstream.stats().connections >= 2 ? true : undefined), 10_000, 'reconnection');
    const resumed = jetstream.stats().requests.at(-1)!.cursor;
    expect(Number(resumed)).toBe(lines.length);
  });

  it('counts malformed and oversized frames as rejected and keeps going', async () => {
    const good = jsonlLines(CAPTURE_FILE);
    const bad = ['{"did":', 'null', '{"did":"did:plc:x","time_us":"soon","kind":"commit","commit":{"collection":"app.bsky.feed.like"}}', 'x'.repeat(300 * 1024)];
    const jetstream = await replay([...bad, ...good]);
    const svc = await startTestService(testConfig({ JETSTREAM_URL: `${jetstream.url}/subscribe` }));
    cleanups.push(svc.stop);
    const text = await waitFor(async () => {
      const t = await (await fetch(`${svc.baseUrl}/metrics`)).text();
      return metricValue(t, 'feedgen_likes') === 105 ? t : undefined;
    });
    expect(metricValue(text, 'feedgen_ingest_rejections_total', { reason: 'malformed_json' })).toBe(1);
    expect(metricValue(text, 'feedgen_ingest_rejections_total', { reason: 'not_an_object' })).toBe(1);
    expect(metricValue(text, 'feedgen_ingest_rejections_total', { reason: 'bad_time_us' })).toBe(1);
    expect(metricValue(text, 'feedgen_ingest_rejections_total', { reason: 'oversized_frame' })).toBe(1);
  });

  it('counts a text frame of invalid UTF-8 as rejected and keeps the connection', async () => {
    const good = jsonlLines(CAPTURE_FILE);
    const broken = Buffer.from(good[0]!);
    broken[20] = 0xff;
    const frames = await startFrameListServer(() => [{ data: broken, binary: false }, ...good.map((data) => ({ data, binary: false }))]);
    cleanups.push(() => frames.close());
    const svc = await startTestService(testConfig({ JETSTREAM_URL: frames.url }));
    cleanups.push(svc.stop);
    const text = await waitFor(async () => {
      const t = await (await fetch(`${svc.baseUrl}/metrics`)).text();
      return metricValue(t, 'feedgen_likes') === 105 ? t : undefined;
    });
    expect(metricValue(text, 'feedgen_ingest_rejections_total', { reason: 'invalid_utf8' })).toBe(1);
    // The WebSocket's own check would have closed it (1007), and the host would resend the frame.
    expect(frames.stats().connections).toBe(1);
  });
});
