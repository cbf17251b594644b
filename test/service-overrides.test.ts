/**
 * The context's parts swapped through FeedService.create's overrides: a whole primary with
 * no Jetstream server (an in-memory event source), no PLC directory (keys held in memory)
 * and a clock of the test's choosing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { FeedService } from '../src/roles/service.js';
import { withReader } from '../src/store/database.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { testConfig, waitFor } from '../testkit/processes/service.js';
import { MemoryEventSource } from '../testkit/standins/memory-event-source.js';
import { StaticDidResolver } from '../testkit/standins/static-did-resolver.js';

const FEED = 'at://did:plc:publisherxxxxxxxxxxxxxxx/app.bsky.feed.generator/for-you';
const CLOCK_MS = Date.parse('2026-07-04T12:00:00Z');

describe('a primary built from overrides', () => {
  const lines = jsonlLines(CAPTURE_FILE);
  const likeCreates = lines.filter((l) => l.includes('"app.bsky.feed.like"') && l.includes('"create"')).length;
  const resolver = new StaticDidResolver();
  // Nothing listens there: a part the overrides failed to replace would show as a failed connection, not a pass.
  const config = testConfig({ JETSTREAM_URL: 'ws://127.0.0.1:1/subscribe', PLC_URL: 'http://127.0.0.1:1', FEEDGEN_PUBLISHER_DID: 'did:plc:publisherxxxxxxxxxxxxxxx' });
  const service = FeedService.create(config, {
    log: createLogger('silent'),
    eventSource: new MemoryEventSource(lines),
    didResolver: resolver,
    clock: () => CLOCK_MS,
    statusSampleMs: 0,
  });
  const base = () => `http://127.0.0.1:${service.port()}`;

  beforeAll(() => service.start());
  afterAll(() => service.stop());

  it('ingests from the event source it was given', async () => {
    const stored = () => withReader(config.dbPath, (db) => db.prepare('SELECT count(*) FROM likes').pluck().get() as number);
    expect(likeCreates).toBeGreaterThan(100);
    await waitFor(() => (stored() === likeCreates ? true : undefined), 20_000, 'every like of the capture stored');
  });

  it('verifies service JWTs with the resolver it was given', async () => {
    const user = await resolver.addUser('did:plc:overrideuserxxxxxxxxxxxx', config.feedgen.serviceDid);
    await waitFor(() => (service.feed?.isReady ? true : undefined), 20_000, 'the like graph loaded');
    const url = `${base()}/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(FEED)}`;
    const signed = await fetch(url, { headers: { authorization: await user.bearer('app.bsky.feed.getFeedSkeleton') } });
    expect(signed.status).toBe(200);
    const stranger = await new StaticDidResolver().addUser('did:plc:strangerxxxxxxxxxxxxxxxx', config.feedgen.serviceDid);
    const unknown = await fetch(url, { headers: { authorization: await stranger.bearer('app.bsky.feed.getFeedSkeleton') } });
    expect(unknown.status).toBe(401);
  });

  it('reads the time from the clock it was given', async () => {
    expect((await service.status.sample()).sampledAt).toBe(CLOCK_MS);
  });
});
