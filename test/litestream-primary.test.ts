/**
 * The primary as deployed: launcher → real `litestream replicate` and the service beside it,
 * into a real S3-compatible server on 127.0.0.1, then restores with the real binary.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { framesSentFor, type JetstreamReplayServer } from '../testkit/standins/jetstream-server.js';
import { WANTED_COLLECTIONS } from '../src/ingest/events.js';
import { listGenerations } from '../src/replication/litestream/restore.js';
import { readLitestreamSettings } from '../src/replication/litestream/settings.js';
import { freePort } from '../testkit/processes/processes.js';
import { likeIds, likeLines, likesIn, type Primary, primarySuite, restoreFrom, startPrimary } from '../testkit/processes/primary.js';
import { metricValue, waitFor } from '../testkit/processes/service.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SYNC_INTERVAL_S = 1;

/** Resolves once the primary's database stops growing (every sent frame stored). */
async function ingestSettled(dbPath: string, replay: JetstreamReplayServer, total: number): Promise<number> {
  await waitFor(() => (replay.stats().framesSent === total ? true : undefined), 120_000, 'replay sent everything');
  let last = -1;
  return waitFor(
    async () => {
      const count = likeIds(dbPath).length;
      if (count === last) return count;
      last = count;
      await sleep(400);
      return undefined;
    },
    30_000,
    'ingest settled',
  );
}

async function stopGracefully(primary: Primary): Promise<number | null> {
  primary.child.kill('SIGTERM');
  return primary.exited;
}

/**
 * Commit time bounds of every like id, from polling the primary's own file: an id first
 * seen at poll k was committed after poll k-1 and before poll k.
 */
class CommitClock {
  private readonly bounds: { maxId: number; atMs: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  start(dbPath: string): void {
    const poll = () => {
      try {
        const ids = likeIds(dbPath);
        this.bounds.push({ maxId: ids.at(-1) ?? 0, atMs: Date.now() });
      } catch {
        // the file is not there yet
      }
    };
    this.timer = setInterval(poll, 100);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** [not committed at, committed by] for a like id. */
  window(id: number): [number, number] {
    const index = this.bounds.findIndex((b) => b.maxId >= id);
    // Committed after the last poll (a loss smaller than the poll period): not committed at that poll.
    if (index === -1) return [this.bounds.at(-1)?.atMs ?? -Infinity, Infinity];
    if (index === 0) return [-Infinity, this.bounds[0]!.atMs];
    return [this.bounds[index - 1]!.atMs, this.bounds[index]!.atMs];
  }
}

describe('Litestream on the primary', () => {
  const suite = primarySuite();
  const tempFile = (name: string) => path.join(suite.tempDir(), name);

  it('restores exactly the committed likes after a SIGTERM mid-stream (the final batch is synced), and exits 0', async () => {
    const lines = likeLines(20_000, 11);
    const { replay, env, dbPath } = await suite.stream(lines, 4000);
    const primary = startPrimary(env);
    await waitFor(() => (likeIds(dbPath).length > 2000 ? true : undefined), 30_000, 'ingest under way');
    await sleep(500);

    expect(await stopGracefully(primary), primary.output()).toBe(0);
    await replay.close();
    const committed = likesIn(dbPath);
    expect(committed.length).toBeGreaterThan(2000);
    expect(replay.stats().framesSent).toBeLessThan(lines.length); // stopped mid-stream

    const restored = await restoreFrom(env, tempFile('restored.db'));
    expect(likesIn(restored.output)).toEqual(committed);
    expect(restored.heartbeatMs).toBeGreaterThan(Date.now() - 60_000);
  }, 90_000);

  it('after a SIGKILL of the whole primary, the bucket alone lacks only the last ~sync interval of likes', async () => {
    const rate = 3000;
    const lines = likeLines(30_000, 12);
    const { replay, env, dbPath } = await suite.stream(lines, rate);
    const clock = new CommitClock();
    const primary = startPrimary(env);
    clock.start(dbPath);
    await waitFor(() => (likeIds(dbPath).length > 8000 ? true : undefined), 30_000, 'ingest under way');

    primary.killAll();
    const killedAt = Date.now();
    await primary.exited;
    clock.stop();
    await replay.close();
    const local = likeIds(dbPath);
    const restored = await restoreFrom(env, tempFile('after-kill.db'));
    const recovered = likeIds(restored.output);

    // What the bucket has is a prefix of what was committed: nothing invented, no holes.
    expect(recovered).toEqual(local.slice(0, recovered.length));
    const lost = local.slice(recovered.length);
    // The oldest lost like was committed at most this long before the kill (an upper bound).
    const lostWindowMs = lost.length === 0 ? 0 : killedAt - clock.window(lost[0]!)[0];
    console.log(`SIGKILL at ${rate} likes/s: ${local.length} committed, ${recovered.length} in the bucket, ${lost.length} lost, all committed in the last ${lostWindowMs} ms`);
    // Sync interval, plus a second for the upload and the poll (machines here are shared).
    expect(lostWindowMs).toBeLessThanOrEqual((SYNC_INTERVAL_S + 1) * 1000);
  }, 90_000);

  it('restores to a point in time: everything committed before T - (sync + 1 s), nothing after T + 1 s', async () => {
    const lines = likeLines(36_000, 13);
    const { replay, env, dbPath } = await suite.stream(lines, 3000);
    const clock = new CommitClock();
    const primary = startPrimary(env);
    clock.start(dbPath);
    await waitFor(() => (likeIds(dbPath).length > 6000 ? true : undefined), 30_000, 'ingest under way');
    await sleep(3000);
    const target = new Date();
    await sleep(4000);
    expect(await stopGracefully(primary)).toBe(0);
    clock.stop();
    await replay.close();

    const restored = await restoreFrom(env, tempFile('pitr.db'), target.toISOString());
    const present = new Set(likeIds(restored.output));
    const mustHave = likeIds(dbPath).filter((id) => clock.window(id)[1] < target.getTime() - (SYNC_INTERVAL_S + 1) * 1000);
    const mustNotHave = likeIds(dbPath).filter((id) => clock.window(id)[0] > target.getTime() + 1000);
    expect(mustHave.length).toBeGreaterThan(1000);
    expect(mustNotHave.length).toBeGreaterThan(1000);
    expect(mustHave.filter((id) => !present.has(id))).toEqual([]);
    expect(mustNotHave.filter((id) => present.has(id))).toEqual([]);
  }, 90_000);

  it('keeps ingesting while the object store is down for 30 s, then catches up: nothing lost', async () => {
    const lines = likeLines(60_000, 14);
    const port = await freePort();
    const { replay, env, dbPath } = await suite.stream(lines, 1200, { PORT: String(port), LITESTREAM_METRICS_ADDR: `127.0.0.1:${await freePort()}` });
    const s3 = suite.s3();
    const stalledSeconds = async () => {
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
      expect(metricValue(text, 'feedgen_litestream_up')).toBe(1);
      return metricValue(text, 'feedgen_litestream_replica_stalled_seconds');
    };
    const primary = startPrimary(env);
    await waitFor(() => (likeIds(dbPath).length > 3000 ? true : undefined), 30_000, 'ingest under way');

    await s3.stop();
    const beforeOutage = likeIds(dbPath).length;
    await sleep(30_000);
    const afterOutage = likeIds(dbPath).length;
    const stalledDuringOutage = await stalledSeconds();
    await s3.resume();

    expect(afterOutage - beforeOutage).toBeGreaterThan(20_000); // ingest went on
    expect(stalledDuringOutage).toBeGreaterThan(20);
    const total = await ingestSettled(dbPath, replay, framesSentFor(lines, WANTED_COLLECTIONS).frames);
    // The backlog of the outage (~90 MB of WAL) uploads first: on a loaded machine, a while.
    await waitFor(async () => ((await stalledSeconds()) < 3 ? true : undefined), 90_000, 'replica moving again').catch((err: unknown) => {
      throw new Error(`${String(err)}; Litestream and service output:\n${primary.output().slice(-4000)}`);
    });
    expect(await stopGracefully(primary)).toBe(0);
    await replay.close();

    const restored = await restoreFrom(env, tempFile('after-outage.db'));
    expect(likeIds(restored.output).length).toBe(total);
    expect(likesIn(restored.output)).toEqual(likesIn(dbPath));
  }, 240_000);

  it('restores from before and after restarts, across a new generation on a fresh volume', async () => {
    const lines = likeLines(24_000, 15);
    const { replay, env, dbPath } = await suite.stream(lines, 3000);

    /** Runs the primary until `more` likes past `start` are stored, stops it, and returns its likes and a time after the stop. */
    const runFor = async (start: number, more: number) => {
      const primary = startPrimary(env);
      await waitFor(() => (likeIds(dbPath).length > start + more ? true : undefined), 60_000, 'likes stored');
      expect(await stopGracefully(primary)).toBe(0);
      const likes = likesIn(dbPath);
      await sleep(2000);
      const after = new Date().toISOString();
      await sleep(1000);
      return { likes, after };
    };

    const first = await runFor(0, 4000);
    const second = await runFor(first.likes.length, 4000); // plain restart, same volume
    rmSync(env.DATA_DIR!, { recursive: true, force: true }); // the machine's volume is gone
    const third = await runFor(second.likes.length, 4000); // restored on boot, then a new generation
    await replay.close();

    expect(third.likes.length).toBeGreaterThan(second.likes.length);
    const generations = await listGenerations(readLitestreamSettings({ ...process.env, ...env }, env.DATA_DIR!));
    expect(new Set(generations.map((g) => g.generation)).size).toBeGreaterThanOrEqual(2);
    expect(likesIn((await restoreFrom(env, tempFile('gen-1.db'), first.after)).output)).toEqual(first.likes);
    expect(likesIn((await restoreFrom(env, tempFile('gen-2.db'), second.after)).output)).toEqual(second.likes);
    expect(likesIn((await restoreFrom(env, tempFile('latest.db'))).output)).toEqual(third.likes);
  }, 150_000);
});
