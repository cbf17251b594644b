/**
 * The like graph under GRAPH_MEMORY_MB: as the window in the database grows past what
 * the budget holds, the graph keeps the newest likes that fit, its bytes (compaction
 * peaks included) never pass the budget, and what it left out is counted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openReader, type ReaderDb, type WriterDb } from '../src/store/database.js';
import { EventWriter } from '../src/ingest/writer/event-writer.js';
import { type CompactionTuning, GraphSync } from '../src/feed/graph/graph-sync.js';
import { LikeList } from '../src/feed/graph/like-graph.js';
import { MemoryBudget, STEADY_SHARE } from '../src/feed/graph/memory-budget.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { postUri } from '../src/atproto/identifiers.js';
import { createLogger } from '../src/observability/logger.js';
import { tempDatabase } from '../testkit/processes/db.js';
import { seeded } from '../testkit/random.js';
import { numberedDid } from '../testkit/numbered-did.js';

const did = numberedDid;

const T0_US = 1_750_000_000_000_000;
const ACTORS = 5000;
const POSTS = 40_000;
const BATCH = 20_000;
/** Small compaction thresholds, so compactions happen at this test's sizes. */
const TUNING: CompactionTuning = { keepNewest: 10_000, share: 0.05, minLikes: 20_000, loadMaxSlotted: 100_000, loadShare: 0.25 };

/** Likes numbered from..from+n, a like a second: random actors and posts, each like's rkey its number. */
function likes(random: () => number, from: number, n: number): IngestEvent[] {
  const out: IngestEvent[] = [];
  for (let i = from; i < from + n; i++) {
    const post = Math.floor(random() ** 2 * POSTS);
    out.push({
      type: 'like',
      did: did(Math.floor(random() * ACTORS)),
      rkey: `like${i}`,
      subjectUri: postUri(did(ACTORS + (post % 997)), `post${post}`),
      timeUs: T0_US + i * 1e6,
    });
  }
  return out;
}

describe('like graph memory budget', () => {
  let db: WriterDb;
  let dbPath: string;
  let cleanup: () => void;
  let writer: EventWriter;
  const readers: ReaderDb[] = [];
  const log = createLogger('silent');
  const random = seeded(515);
  let written = 0;

  beforeEach(() => {
    ({ db, dbPath, cleanup } = tempDatabase());
    writer = new EventWriter(db);
    written = 0;
  });
  afterEach(() => {
    for (const r of readers.splice(0)) if (r.open) r.close();
    cleanup();
  });

  const write = (n: number) => {
    for (let k = 0; k < n; k += BATCH) {
      writer.writeBatch(likes(random, written, BATCH), { timeUs: T0_US + written * 1e6, seq: undefined, seqHost: undefined });
      written += BATCH;
    }
  };
  const openSync = (memoryBudgetBytes?: number): GraphSync => {
    const reader = openReader(dbPath, { busyTimeoutMs: 1000 });
    readers.push(reader);
    return new GraphSync(reader, log, { tuning: TUNING, memoryBudgetBytes });
  };
  const newestLikeId = () => db.prepare<[], { id: number }>('SELECT max(id) AS id FROM likes').get()!.id;

  it('keeps the newest likes that fit as the window grows past the budget, never over it, and counts what it left out', async () => {
    // What a like costs the graph, unbudgeted, on a first part of the stream.
    write(100_000);
    const free = openSync();
    await free.load();
    const bytesPerLike = free.graph.memoryBytes() / free.graph.likeCount;
    free.stop();
    // A budget whose steady share holds 150,000 likes at that cost (more, since fixed costs
    // weigh less as the graph grows): the stream below brings 600,000.
    const budgetBytes = Math.round((150_000 * bytesPerLike) / STEADY_SHARE);
    const total = 600_000;

    const sync = openSync(budgetBytes);
    await sync.load();
    let peak = Math.max(sync.graph.memoryBytes(), sync.graph.compactionPeakBytes);
    while (written < total) {
      write(BATCH * 2);
      while (sync.poll().likes > 0);
      await sync.settled();
      peak = Math.max(peak, sync.graph.memoryBytes(), sync.graph.compactionPeakBytes);
      expect(peak, `after ${written} likes`).toBeLessThanOrEqual(budgetBytes);
    }

    const held = sync.graph.likeCount;
    const report = sync.budgetReport();
    // The budget is used, not left empty: the steady bytes sit between the prune target and the steady share.
    expect(sync.graph.memoryBytes()).toBeLessThanOrEqual(budgetBytes * STEADY_SHARE);
    expect(sync.graph.memoryBytes()).toBeGreaterThan(budgetBytes * STEADY_SHARE * 0.6);
    expect(held).toBeGreaterThan(100_000);
    expect(held).toBeLessThan(total / 2);
    expect(report.budgetBytes).toBe(budgetBytes);
    expect(report.likesDropped).toBe(written - held);
    expect(report.likesLeftOut).toBe(written - held);
    // The newest likes are the ones held: everything above the floor, nothing below it.
    expect(report.memoryFloorId).toBeGreaterThan(0);
    expect(sync.graph.floorId).toBe(report.memoryFloorId);
    expect(newestLikeId() - report.memoryFloorId).toBe(held);
    expect(report.oldestLikeTimeS).toBe(Math.floor(T0_US / 1e6) + report.memoryFloorId);

    // Reads see only likes above the floor.
    const list = new LikeList();
    let seen = 0;
    for (let actor = 1; actor <= 200; actor++) {
      sync.graph.readLikesOfActor(actor, 10_000, list);
      for (let i = 0; i < list.length; i++) expect(list.timesS[i]!).toBeGreaterThan(Math.floor(T0_US / 1e6) + report.memoryFloorId);
      seen += list.length;
    }
    expect(seen).toBeGreaterThan(0);
    sync.stop();

    // A restart with the same budget loads the newest likes that fit, under the budget all along.
    const restarted = openSync(budgetBytes);
    await restarted.load();
    expect(Math.max(restarted.graph.memoryBytes(), restarted.graph.compactionPeakBytes)).toBeLessThanOrEqual(budgetBytes);
    expect(restarted.graph.likeCount).toBeGreaterThan(100_000);
    expect(restarted.budgetReport().likesLeftOut).toBe(written - restarted.graph.likeCount);
    restarted.stop();
  }, 120_000);

  it('refuses a budget that is not a positive number of bytes', () => {
    expect(() => new MemoryBudget(0)).toThrow(/positive/);
    expect(() => new MemoryBudget(Number.NaN)).toThrow(/positive/);
  });
});
