import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { generationOf, type Position, ReplicaLayout, snapshotIndexOf, walSegmentOf } from '../bucket/layout.js';
import { lz4Decompress } from './lz4.js';
import type { ObjectStore } from '../bucket/object-store.js';
import { markRollbackFormat, writeCommits } from './page-writer.js';
import { PollCadence } from './poll-cadence.js';
import { type FollowState, readFollowState, writeFollowState } from './position-file.js';
import type { ReplicaStatus } from './replica-status.js';
import { readWalFrames, readWalHeader, WAL_HEADER_BYTES, WalFormatError, type WalState } from './wal.js';

export interface FollowerOptions {
  store: ObjectStore;
  layout: ReplicaLayout;
  dbPath: string;
  log: Logger;
  metrics: Metrics;
  /** Wait between polls that found nothing new. */
  pollMs: number;
  /** Nothing new for this long: look for a new generation, or a gap left by retention. */
  stallMs: number;
  /**
   * The primary's WAL restarts (a new index) only after a checkpoint, and Litestream
   * checkpoints once the WAL passes this many pages: from there on, a miss looks at the
   * next index at once.
   */
  minCheckpointPages: number;
  /** Called after a running follower swapped in a fresh restore (its row ids may differ). */
  onRestored?: () => void;
}

/** Runs `apply` while no connection has the database open. */
export type Exclusive = (apply: () => void) => void;

/** How often the primary's writer updates the heartbeat row. */
const HEARTBEAT_PERIOD_MS = 1000;

export class FollowerError extends Error {
  override name = 'FollowerError';
}

/**
 * Keeps a local copy of the primary's database by applying what Litestream uploads:
 * restore the newest generation (snapshot, then its WAL), then fetch the next segment
 * of the current WAL index by its predictable key (a GET, a tenth of a LIST's price),
 * or the first of the next index. Each segment is checked (salts, checksum chain)
 * before a page is written; pages go straight into the file, as a checkpoint writes
 * them, with every connection closed. The position is kept durably beside the file.
 */
export class Follower implements ReplicaStatus {
  private state: FollowState | undefined;
  private heartbeatMs: number | undefined;
  private everCaughtUp = false;
  private lastProgressMs = Date.now();
  /** Polls in a row that found nothing: the next index is probed from the second on. */
  private misses = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private exclusive: Exclusive = (apply) => apply();

  constructor(private readonly options: FollowerOptions) {}

  /** Until the engine holds connections, applying needs no closing of anything. */
  setExclusive(exclusive: Exclusive): void {
    this.exclusive = exclusive;
  }

  lagSeconds(): number | undefined {
    return this.heartbeatMs === undefined ? undefined : Math.max(0, (Date.now() - this.heartbeatMs) / 1000);
  }

  caughtUp(): boolean {
    return this.everCaughtUp;
  }

  get position(): Position | undefined {
    return this.state?.position;
  }

  /** Resumes from the saved position, or restores the newest generation from scratch. */
  async bootstrap(): Promise<void> {
    const saved = readFollowState(this.options.dbPath);
    if (saved && !saved.applying && fs.existsSync(this.options.dbPath)) {
      this.state = saved;
      this.readHeartbeat();
      this.options.log.info({ position: saved.position }, 'follower: resuming');
      return;
    }
    if (saved?.applying) this.options.log.warn('follower: the last apply did not finish; restoring afresh');
    await this.restoreNewest();
  }

  start(): void {
    const cadence = new PollCadence(this.options.pollMs);
    const tick = async () => {
      if (this.stopped) return;
      let delay = this.options.pollMs;
      try {
        if (await this.step()) {
          // Right after the newest segment, the copy's heartbeat is at most about a second
          // old (it is written every second) plus the upload's delay. Older than a period
          // more: the next segment is most likely there already, fetch it at once (else
          // the copy stays a segment behind for good). Likewise until the first miss.
          const backlog = !this.everCaughtUp || (this.lagSeconds() ?? Infinity) * 1000 > this.options.pollMs + HEARTBEAT_PERIOD_MS;
          delay = cadence.afterHit(backlog);
        } else {
          delay = cadence.afterMiss();
        }
        const { metrics, store } = this.options;
        metrics.replicaLagSeconds.set(this.lagSeconds() ?? -1);
        metrics.replicaStoreRequests.set({ class: 'GET' }, store.requests.GET);
        metrics.replicaStoreRequests.set({ class: 'LIST' }, store.requests.LIST);
      } catch (err) {
        this.options.metrics.replicaFollowErrors.inc();
        this.options.log.error({ err }, 'follower: step failed');
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), delay);
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One poll: applies the next segment if there is one (`eager`: look at the next index on the first miss). */
  async step(eager = false): Promise<boolean> {
    const state = this.state;
    if (!state) throw new FollowerError('follower not bootstrapped');
    const { store, layout, dbPath, log } = this.options;
    if (!fs.existsSync(dbPath)) {
      // The file was deleted under us (a wiped volume): nothing to apply segments to.
      log.warn({ position: state.position }, 'follower: the database file is gone; restoring afresh');
      await this.restoreNewest();
      this.options.onRestored?.();
      return true;
    }
    const here = state.position;
    let segment = await store.get(layout.walKey(here));
    let position = here;
    if (!segment && (++this.misses >= 2 || eager || this.indexMayHaveEnded(here))) {
      // The index may have ended (the primary's WAL restarted): its next starts at offset 0.
      const next = { ...here, index: here.index + 1, offset: 0 };
      const first = await store.get(layout.walKey(next));
      if (first) {
        // Uploads are in order: anything left of the current index is there by now.
        const late = await store.get(layout.walKey(here));
        if (late) segment = late;
        else [segment, position] = [first, next];
      }
    }
    if (this.stopped) return false; // the database may be closed by now
    if (!segment) {
      this.everCaughtUp = true;
      if (Date.now() - this.lastProgressMs > this.options.stallMs) await this.checkForNewGenerationOrGap();
      return false;
    }
    try {
      this.applySegment(position, lz4Decompress(segment));
    } catch (err) {
      // Nothing was written. An object read while still being uploaded looks torn (a
      // stand-in store is not atomic as S3 is): try again next poll; a segment that stays
      // damaged keeps failing here, counted and logged, while the lag grows.
      if (!(err instanceof WalFormatError || err instanceof RangeError || /lz4|magic|descriptor/i.test(String(err)))) throw err;
      this.options.metrics.replicaFollowErrors.inc();
      this.options.log.warn({ err: String(err), position }, 'follower: segment unreadable, retrying');
      return false;
    }
    this.lastProgressMs = Date.now();
    this.misses = 0;
    return true;
  }

  /** Past the checkpoint threshold, the current index can end at any upload. */
  private indexMayHaveEnded(here: Position): boolean {
    const pageSize = this.state?.wal?.pageSize ?? 4096;
    return here.offset >= this.options.minCheckpointPages * (pageSize + 24);
  }

  private applySegment(position: Position, bytes: Buffer): void {
    const { dbPath, metrics } = this.options;
    const started = performance.now();
    let wal: WalState;
    let frames = bytes;
    if (position.offset === 0) {
      wal = readWalHeader(bytes.subarray(0, WAL_HEADER_BYTES));
      frames = bytes.subarray(WAL_HEADER_BYTES);
    } else if (this.state?.wal && this.state.position.index === position.index) {
      wal = this.state.wal;
    } else {
      throw new FollowerError(`no WAL header for index ${position.index} at offset ${position.offset}`);
    }
    const read = readWalFrames(frames, wal); // throws before anything is written
    const next: FollowState = { position: { ...position, offset: position.offset + bytes.length }, wal: read.state, applying: false };
    this.exclusive(() => {
      writeFollowState(dbPath, { ...next, applying: true });
      writeCommits(dbPath, read.commits, wal.pageSize);
      writeFollowState(dbPath, next);
    });
    this.state = next;
    this.readHeartbeat();
    metrics.replicaAppliedBytes.inc(bytes.length);
    metrics.replicaApplySeconds.observe((performance.now() - started) / 1000);
  }

  /** Nothing new for a while: the primary may have started a new generation, or we fell into a gap. */
  private async checkForNewGenerationOrGap(): Promise<void> {
    const state = this.state!;
    this.lastProgressMs = Date.now(); // at most one look per stall period
    const newest = await this.newestGeneration();
    if (newest && newest.generation !== state.position.generation) {
      this.options.log.info({ from: state.position.generation, to: newest.generation }, 'follower: new generation, restoring it');
      await this.restoreNewest();
      this.options.onRestored?.();
      return;
    }
    const listing = await this.options.store.list(this.options.layout.walPrefix(state.position.generation));
    const ahead = listing.objects
      .map((o) => walSegmentOf(o.key))
      .some((s) => s !== undefined && (s.index > state.position.index + 1 || (s.index === state.position.index + 1 && s.offset > 0)));
    if (ahead) {
      this.options.log.warn({ position: state.position }, 'follower: segments it needs are gone (retention); restoring afresh');
      await this.restoreNewest();
      this.options.onRestored?.();
    }
  }

  /**
   * Restores the newest generation into a new file beside the database, brings it up to
   * date, and swaps it in atomically: the old file serves until the rename.
   */
  private async restoreNewest(): Promise<void> {
    const { store, layout, dbPath, log } = this.options;
    const newest = await this.newestGeneration();
    if (!newest) throw new FollowerError('the replica holds no generation yet');
    const started = performance.now();
    const tmp = `${dbPath}.restoring`;
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    fs.rmSync(tmp, { force: true });
    const snapshot = await store.get(layout.snapshotKey(newest.generation, newest.snapshotIndex));
    if (!snapshot) throw new FollowerError(`snapshot ${newest.snapshotIndex} of ${newest.generation} is gone`);
    fs.writeFileSync(tmp, lz4Decompress(snapshot));
    markRollbackFormat(tmp);

    // Replay the generation's WAL from the snapshot's index onto the new file.
    const restoring = new Follower({ ...this.options, dbPath: tmp, onRestored: undefined });
    restoring.state = { position: { generation: newest.generation, index: newest.snapshotIndex, offset: 0 }, wal: undefined, applying: false };
    while (await restoring.step(true)) {
      // each step applies one segment
    }
    const state = restoring.state!;
    // A snapshot read while still being uploaded would be cut short: check before serving it.
    const check = quickCheck(tmp);
    if (check !== 'ok') throw new FollowerError(`restored copy fails quick_check (${check}); will retry`);
    this.exclusive(() => {
      writeFollowState(dbPath, { ...state, applying: true });
      fs.renameSync(tmp, dbPath);
      writeFollowState(dbPath, state);
    });
    this.state = state;
    this.lastProgressMs = Date.now();
    this.readHeartbeat();
    log.info({ position: state.position, seconds: ((performance.now() - started) / 1000).toFixed(1) }, 'follower: restored');
  }

  /** The generation with the newest snapshot (the primary's current one), and that snapshot. */
  private async newestGeneration(): Promise<{ generation: string; snapshotIndex: number } | undefined> {
    const { store, layout } = this.options;
    let best: { generation: string; snapshotIndex: number; atMs: number } | undefined;
    for (const prefix of (await store.list(layout.generationsPrefix())).prefixes) {
      const generation = generationOf(prefix);
      if (!generation) continue;
      for (const object of (await store.list(layout.snapshotsPrefix(generation))).objects) {
        const snapshotIndex = snapshotIndexOf(object.key);
        if (snapshotIndex === undefined) continue;
        if (!best || object.lastModifiedMs > best.atMs || (object.lastModifiedMs === best.atMs && snapshotIndex > best.snapshotIndex)) {
          best = { generation, snapshotIndex, atMs: object.lastModifiedMs };
        }
      }
    }
    return best;
  }

  /** The primary's heartbeat as the copy holds it: the measure of lag. */
  private readHeartbeat(): void {
    const db = new BetterSqlite3(this.options.dbPath, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT time_ms FROM heartbeat WHERE id = 1').get() as { time_ms: number } | undefined;
      if (row) this.heartbeatMs = row.time_ms;
    } catch {
      // a database older than the heartbeat table: no lag known yet
    } finally {
      db.close();
    }
  }
}

function quickCheck(dbPath: string): string {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  try {
    return String(db.pragma('quick_check', { simple: true }));
  } catch (err) {
    return String(err);
  } finally {
    db.close();
  }
}
