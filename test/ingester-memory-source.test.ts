import { afterEach, describe, expect, it } from 'vitest';
import { splitPostUri } from '../src/atproto/identifiers.js';
import { Ingester } from '../src/ingest/ingester.js';
import { parseFrame } from '../src/ingest/parse.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { likeFingerprint, tempDatabase } from '../testkit/processes/db.js';
import { metricValue, testConfig, waitFor } from '../testkit/processes/service.js';
import { MemoryEventSource } from '../testkit/standins/memory-event-source.js';

/** The likes of some lines, as likeFingerprint() spells them. */
function expectedLikes(lines: string[]): string[] {
  const keys = new Set<string>();
  for (const line of lines) {
    const result = parseFrame(Buffer.from(line), false, 1 << 20);
    if (result.outcome !== 'event' || result.event.type !== 'like') continue;
    const subject = splitPostUri(result.event.subjectUri);
    keys.add(`${result.event.did}|${result.event.rkey}|${subject.authorDid}|${subject.rkey}`);
  }
  return [...keys].sort();
}

describe('Ingester over an in-memory event source', () => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('writes every like of the capture into its sink, then survives a dropped connection without a duplicate', async () => {
    const lines = jsonlLines(CAPTURE_FILE);
    const target = tempDatabase();
    cleanups.push(target.cleanup);
    const writer = new EventWriter(target.db);
    const source = new MemoryEventSource(lines);
    const metrics = createMetrics();
    const ingester = new Ingester({
      // The Jetstream URL is never dialled: the source given replaces the client.
      config: testConfig({ DATA_DIR: target.dir, JETSTREAM_URL: 'ws://127.0.0.1:1/subscribe' }).ingest,
      sink: { writeBatch: async (batch, cursor) => writer.writeBatch(batch, cursor), liveLikeCount: () => writer.liveLikeCount() },
      storedCursor: writer.cursor(),
      metrics,
      log: createLogger('silent'),
      source,
    });
    ingester.start();
    cleanups.push(() => ingester.stop());

    const expected = expectedLikes(lines);
    expect(expected).toHaveLength(105);
    await waitFor(() => (likeFingerprint(target.db).length === expected.length ? true : undefined), 10_000, 'every like stored');
    expect(likeFingerprint(target.db)).toEqual(expected);
    const text = await metrics.registry.metrics();
    expect(metricValue(text, 'feedgen_jetstream_connections_total', { host: 'jetstream' })).toBe(1);
    expect(metricValue(text, 'feedgen_ingest_events_total', { kind: 'like', outcome: 'stored' })).toBe(105);
    // A fresh database: the first connection starts from the source's beginning.
    expect(source.connections()[0]!.cursor).toBeUndefined();
    await waitFor(() => (writer.cursor().timeUs !== undefined ? true : undefined), 10_000, 'a committed cursor');

    // The reconnection asks for a rewound time cursor, so the tail of the capture comes again.
    source.dropConnection();
    await waitFor(() => (source.connections().length === 2 ? true : undefined), 10_000, 'the reconnection');
    const resumedFrom = source.connections()[1]!.cursor;
    expect(resumedFrom).toBeGreaterThan(1.78e15);
    const replayed = lines.filter((line) => (JSON.parse(line) as { time_us: number }).time_us >= resumedFrom!);
    await waitFor(() => (source.connections()[1]!.framesSent === replayed.length ? true : undefined), 10_000, 'the replay');
    await ingester.stop();

    expect(likeFingerprint(target.db)).toEqual(expected);
    const after = await metrics.registry.metrics();
    expect(metricValue(after, 'feedgen_ingest_events_total', { kind: 'like', outcome: 'stored' })).toBe(105);
    expect(metricValue(after, 'feedgen_ingest_events_total', { kind: 'like', outcome: 'duplicate' })).toBeGreaterThan(0);
    expect(writer.cursor().timeUs).toBeGreaterThanOrEqual(resumedFrom!);
  });
});
