import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ReaderDb } from '../../store/database.js';
import { META } from '../../store/meta.js';
import { CHANGE_KIND, POST_FLAGS } from '../../store/schema.js';
import type { Logger } from '../../observability/logger.js';
import { LikeGraph } from './like-graph.js';
import { MemoryBudget } from './memory-budget.js';
import { SnapshotReader, SnapshotUnusable, type SnapshotWritten, writeSnapshot } from './graph-snapshot.js';
import { changeFingerprint, checkSnapshot, likeFingerprint, type SnapshotMeta, type SnapshotRejection } from './snapshot-check.js';
import { graphStateFromTree } from './snapshot-state.js';

/** Rows read per query: each poll is a few short read transactions, never a long one. */
const ROWS_PER_READ = 50_000;
const PROGRESS_EVERY_MS = 2000;
/** A compaction works this long, then lets the event loop serve requests. */
const COMPACT_SLICE_MS = 4;

/** When the graph compacts (see like-graph.ts): the defaults serve; tests make them small. */
export interface CompactionTuning {
  /**
   * The newest likes a compaction leaves in slots. At least the popular feed's scan
   * (POPULAR_DEFAULTS.scanLikes, 300,000): it reads them with forEachLikeSince.
   */
  keepNewest: number;
  /** Compact again once this share of the likes (and at least minLikes) came in since the last, or was pruned while frozen. */
  share: number;
  minLikes: number;
  /** While loading, compact whenever the slots hold more than this many likes and than loadShare of them. */
  loadMaxSlotted: number;
  loadShare: number;
}

export const COMPACTION_DEFAULTS: CompactionTuning = {
  keepNewest: 400_000,
  share: 0.05,
  minLikes: 100_000,
  loadMaxSlotted: 8_000_000,
  loadShare: 0.25,
};

export interface SyncStep {
  likes: number;
  changes: number;
}

export interface GraphSyncOptions {
  tuning?: CompactionTuning;
  /** The most the graph's typed arrays may hold, compactions included (see memory-budget.ts); unset: no limit. */
  memoryBudgetBytes?: number;
  /** The graph saved to a file, read at start instead of the whole likes table; unset: none. */
  snapshot?: SnapshotOptions;
}

export interface SnapshotOptions {
  /** The file (`<database>.graph`). */
  path: string;
  /** The file is written again once it is this old (checked at each poll once loaded; at once after a load from the table); 0: never written nor read. */
  intervalMs: number;
}

/** Where the last load started: the snapshot file, or the whole likes table and why. */
export type LoadStart = { from: 'snapshot'; likes: number; ageS: number } | { from: 'database'; reason: SnapshotRejection; detail: string };

/** What the memory budget left out, for metrics and the status page. */
export interface BudgetReport {
  budgetBytes: number | undefined;
  /** Likes at or below this id were dropped for memory (0: none). */
  memoryFloorId: number;
  /** Live likes dropped for memory since the load began. */
  likesDropped: number;
  /** Live likes of the window the graph does not hold (dropped, or not read yet); undefined without the count in meta. */
  likesLeftOut: number | undefined;
  /** Time of the oldest like held; undefined when it holds none. */
  oldestLikeTimeS: number | undefined;
}

/**
 * Keeps a LikeGraph equal to the database by reading nothing but the database: new
 * likes by id (each with its post's author and deleted flag), the change log by seq
 * (unlikes, deleted posts, account status), and the prune watermark. The same code
 * runs on the primary and on replicas, which never write.
 */
export class GraphSync {
  readonly graph = new LikeGraph();
  private lastLikeId = 0;
  private lastChangeSeq = 0;
  private stmt!: ReturnType<typeof prepareStatements>;
  private loaded = false;
  private stopped = false;
  private compacting: Promise<void> | undefined;
  private db!: ReaderDb;
  /** A snapshot write under way; the graph takes no rows while it writes the arrays. */
  private snapshotting: Promise<void> | undefined;
  private paused = false;
  private lastSnapshotMs = 0;
  private lastWritten: SnapshotWritten | undefined;
  private started: LoadStart | undefined;
  private readonly tuning: CompactionTuning;
  private readonly budget: MemoryBudget | undefined;
  /** Raises of the memory floor that pruned frozen likes, and how many of them a finished compaction has taken in. */
  private frozenRaises = 0;
  private compactedRaises = 0;
  private lastRaiseLog = 0;

  constructor(
    db: ReaderDb,
    private readonly log: Logger,
    private readonly options: GraphSyncOptions = {},
  ) {
    this.tuning = options.tuning ?? COMPACTION_DEFAULTS;
    this.budget = options.memoryBudgetBytes === undefined ? undefined : new MemoryBudget(options.memoryBudgetBytes);
    this.attach(db);
  }

  /** Prepares every statement on `db`: at start, and on a replica after each reopen. */
  attach(db: ReaderDb): void {
    this.db = db;
    this.stmt = prepareStatements(db);
  }

  /** Where the last load started (undefined before one). */
  get loadStart(): LoadStart | undefined {
    return this.started;
  }

  /**
   * Reads the whole window, yielding to the event loop between reads so the process
   * keeps answering health checks, and logs progress. It compacts along the way
   * whenever the slots hold too many likes (geometrically, so the load stays linear),
   * so it never holds the whole window at 32 bytes a like.
   */
  async load(): Promise<void> {
    const started = Date.now();
    const total = this.stmt.likeCount.get()!.n;
    this.started = await this.restoreSnapshot();
    const restoredS = (Date.now() - started) / 1000;
    if (this.started.from === 'database') {
      if (this.started.reason !== 'disabled') this.log.info({ reason: this.started.reason, detail: this.started.detail }, 'like graph snapshot not used: loading the whole window');
      // Changes before this point are already in the rows (deleted flags, statuses).
      this.lastChangeSeq = this.stmt.maxChangeSeq.get()!.seq ?? 0;
      for (const [actor] of this.stmt.inactiveActors.all()) this.graph.setActorActive(actor, false);
    }
    const fromSnapshot = this.started.from === 'snapshot';
    let lastLog = started;
    for (;;) {
      const step = this.poll();
      if (step.likes + step.changes === 0) break;
      if (Date.now() - lastLog > PROGRESS_EVERY_MS) {
        lastLog = Date.now();
        this.log.info({ likesRead: this.lastLikeId, likesInDatabase: total, liveLikes: this.graph.likeCount }, 'loading like graph');
      }
      // Once the budget binds, the likes held are few: compacting them sooner holds more of them.
      const maxSlotted = this.budget?.floorId ? this.tuning.keepNewest : this.tuning.loadMaxSlotted;
      if (this.slottedLikes() > Math.max(maxSlotted, this.graph.likeCount * this.tuning.loadShare)) await this.compact();
      await yieldToEventLoop();
    }
    const compactStarted = Date.now();
    // After a snapshot the lists are frozen already: only a compaction a running graph would do now.
    if (!fromSnapshot || this.compactionDue()) await this.compact();
    this.loaded = true;
    this.snapshotIfDue();
    this.log.info(
      {
        from: this.started.from,
        snapshotSeconds: fromSnapshot ? restoredS : undefined,
        likes: this.graph.likeCount,
        seconds: (Date.now() - started) / 1000,
        compactSeconds: (Date.now() - compactStarted) / 1000,
        megabytes: Math.round(this.graph.memoryBytes() / 1e6),
        budgetMegabytes: this.budget && Math.round(this.budget.budgetBytes / 1e6),
        likesDropped: this.budget?.likesDropped,
      },
      'like graph loaded',
    );
  }

  /** Resolves once no compaction started by a poll is under way (for tests and benchmarks). */
  async settled(): Promise<void> {
    while (this.compacting || this.snapshotting) await (this.compacting ?? this.snapshotting);
  }

  /** Ends background work (a compaction in progress is dropped). */
  stop(): void {
    this.stopped = true;
  }

  /** One catch-up step: at most ROWS_PER_READ rows of each kind. */
  poll(): SyncStep {
    // While a snapshot writes the arrays, they must not change; the rows wait in the database.
    if (this.paused) return { likes: 0, changes: 0 };
    const { graph, stmt } = this;
    const likes = stmt.likes.all(this.lastLikeId, ROWS_PER_READ);
    const newPosts = this.postsComingIn(likes);
    for (const [id, actor, post, timeUs, deleted] of likes) {
      if (deleted === 0) {
        const row = newPosts.get(post);
        graph.addLike(id, actor, post, Math.floor(timeUs / 1e6), row?.author, row?.gone);
      }
      // Row by row: a poll that fails half-way resumes after the last like it added.
      this.lastLikeId = id;
    }

    const changes = stmt.changes.all(this.lastChangeSeq, ROWS_PER_READ);
    for (const [seq, kind, ref] of changes) {
      this.applyChange(kind, ref);
      this.lastChangeSeq = seq;
    }

    const pruned = stmt.prunedLikeId.get()?.value;
    if (pruned !== undefined) graph.pruneThrough(Math.min(pruned, this.lastLikeId));
    // The floor is the higher of the database's watermark and the memory floor.
    this.enforceBudget();
    if (this.loaded) {
      this.compactIfDue();
      this.snapshotIfDue();
    }
    return { likes: likes.length, changes: changes.length };
  }

  /**
   * The author and deleted flag of each post these likes bring into the graph (the
   * graph keeps them while the post has likes), in one query: a join on every like
   * would look up the post of each, and most are held already.
   */
  private postsComingIn(likes: Array<[number, number, number, number, number]>): Map<number, { author: number; gone: boolean }> {
    const wanted = new Set<number>();
    for (const [, , post, , deleted] of likes) if (deleted === 0 && !this.graph.holdsPost(post)) wanted.add(post);
    const rows = new Map<number, { author: number; gone: boolean }>();
    if (wanted.size === 0) return rows;
    for (const [id, author, flags] of this.stmt.postsByIds.all(JSON.stringify([...wanted]))) {
      rows.set(id, { author, gone: (flags & POST_FLAGS.deleted) !== 0 });
    }
    return rows;
  }

  /**
   * The stream time the database has ingested to (the primary's cursor, a replica's copy
   * of it): a primary whose ingest is stalled keeps its heartbeat, but not this.
   */
  ingestedThroughUs(): number | undefined {
    return this.stmt.cursorTimeUs.get()?.value;
  }

  /** What the memory budget left out; reads two rows of the database. */
  budgetReport(): BudgetReport {
    const { graph, budget } = this;
    const liveInWindow = this.stmt.liveLikes.get()?.value;
    const oldestUs = graph.likeCount > 0 ? this.stmt.oldestLikeAbove.get(graph.floorId)?.time_us : undefined;
    return {
      budgetBytes: budget?.budgetBytes,
      memoryFloorId: budget?.floorId ?? 0,
      likesDropped: budget?.likesDropped ?? 0,
      likesLeftOut: liveInWindow === undefined ? undefined : Math.max(0, liveInWindow - graph.likeCount),
      oldestLikeTimeS: oldestUs === undefined ? undefined : Math.floor(oldestUs / 1e6),
    };
  }

  /**
   * Keeps the graph under its memory budget by raising the memory floor. The bytes are
   * trusted only once a compaction has taken in the last raise's frozen likes (until
   * then their list entries still count) and none is under way (its peak is what the
   * budget's headroom is for).
   */
  private enforceBudget(): void {
    const { graph, budget } = this;
    if (!budget) return;
    const floorBefore = graph.floorId;
    const droppedBefore = budget.likesDropped;
    const settled = !this.compacting && this.compactedRaises === this.frozenRaises;
    if (!budget.enforce(graph, settled)) return;
    if (floorBefore < graph.compactedThrough) this.frozenRaises++;
    if (Date.now() - this.lastRaiseLog > 60_000) {
      this.lastRaiseLog = Date.now();
      this.log.info(
        { floorId: graph.floorId, dropped: budget.likesDropped - droppedBefore, likesHeld: graph.likeCount, megabytes: Math.round(graph.memoryBytes() / 1e6) },
        'like graph memory floor raised: the oldest likes are left out',
      );
    }
  }

  /** Likes in slots (above the frozen ones and the floor). */
  private slottedLikes(): number {
    const { graph } = this;
    return graph.newestLikeId - Math.max(graph.floorId, graph.compactedThrough);
  }

  /**
   * Starts a compaction in the background once enough likes could be frozen, or
   * enough frozen likes were pruned (their actors' and posts' counts stay high until
   * a compaction).
   */
  private compactIfDue(): void {
    if (this.compacting || this.snapshotting || !this.compactionDue()) return;
    this.compacting = this.compact()
      .catch((err: unknown) => this.log.error({ err }, 'like graph compaction failed'))
      .finally(() => (this.compacting = undefined));
  }

  private compactionDue(): boolean {
    const { graph, tuning } = this;
    const due = Math.max(tuning.minLikes, graph.likeCount * tuning.share);
    return graph.likesSinceCompaction >= due || graph.prunedSinceCompaction >= due;
  }

  /** Freezes the graph's lists, a slice at a time (see compact-lists.ts). */
  private async compact(): Promise<void> {
    const raises = this.frozenRaises;
    const build = this.graph.startCompaction({ keepNewest: this.tuning.keepNewest });
    while (!build.step(performance.now() + COMPACT_SLICE_MS)) {
      await yieldToEventLoop();
      // A build left unfinished is harmless: the next one starts over it (startCompaction).
      if (this.stopped) return;
    }
    this.graph.finishCompaction(build);
    this.compactedRaises = raises;
  }

  /**
   * Writes the snapshot file now, after any compaction under way; resolves to its size and
   * time, or undefined when there is nothing to write (no snapshot file set, or no likes).
   */
  async writeSnapshot(): Promise<SnapshotWritten | undefined> {
    await this.settled();
    this.lastWritten = undefined;
    this.startSnapshot();
    await this.settled();
    return this.lastWritten;
  }

  /**
   * Saves the graph once the file is an interval old (or there is none: right after a
   * load from the whole table). It holds the slots too, so any moment will do but one
   * inside a compaction; the rows a start then reads after it are at most an interval's.
   */
  private snapshotIfDue(): void {
    const { snapshot } = this.options;
    if (!snapshot || !(snapshot.intervalMs > 0) || this.compacting || Date.now() - this.lastSnapshotMs < snapshot.intervalMs) return;
    this.startSnapshot();
  }

  /** Starts a snapshot write in the background (no compaction starts until it ends). */
  private startSnapshot(): void {
    if (this.snapshotting || this.stopped) return;
    this.snapshotting = this.saveSnapshot()
      .catch((err: unknown) => this.log.error({ err }, 'like graph snapshot failed'))
      .finally(() => (this.snapshotting = undefined));
  }

  /**
   * The graph and the cursors it was read through, to the snapshot file. The graph takes
   * no rows while its arrays are written (it is a copy of this moment, not a mix), then
   * catches up: seconds behind, once an interval.
   */
  private async saveSnapshot(): Promise<void> {
    const file = this.options.snapshot?.path;
    // Counted as a try, written or not: a failing disk is tried again an interval later.
    this.lastSnapshotMs = Date.now();
    const like = likeFingerprint(this.db, this.lastLikeId);
    if (!file || !like) return;
    const change = changeFingerprint(this.db, this.lastChangeSeq) ?? null;
    const { graph, budget } = this;
    const meta: SnapshotMeta = {
      writtenAtMs: Date.now(),
      lastLikeId: this.lastLikeId,
      lastChangeSeq: this.lastChangeSeq,
      like,
      change,
      memoryFloorId: budget?.floorId ?? 0,
      budgetBytes: budget?.budgetBytes ?? null,
      graphBytes: graph.memoryBytes(),
      likes: graph.likeCount,
    };
    this.paused = true;
    try {
      this.lastWritten = await writeSnapshot(file, meta, graph.exportState(), {
        onTreeWritten: () => (this.paused = false),
        cancelled: () => this.stopped,
      });
    } finally {
      this.paused = false;
    }
    this.log.info({ file, megabytes: Math.round(this.lastWritten.bytes / 1e6), seconds: this.lastWritten.seconds, likes: meta.likes }, 'like graph snapshot written');
  }

  /**
   * Takes the graph and cursors from the snapshot file when it can stand for the
   * database (snapshot-check.ts); says why not otherwise, the graph untouched.
   */
  private async restoreSnapshot(): Promise<LoadStart> {
    const { snapshot } = this.options;
    if (!snapshot || snapshot.intervalMs <= 0) return { from: 'database', reason: 'disabled', detail: 'no snapshot file set' };
    let reader: SnapshotReader | undefined;
    try {
      reader = await SnapshotReader.open(snapshot.path);
      const verdict = checkSnapshot(reader.meta, this.db, this.budget?.budgetBytes);
      if (!verdict.usable) return { from: 'database', reason: verdict.reason, detail: verdict.detail };
      const state = graphStateFromTree(await reader.readTree());
      this.graph.restoreState(state);
      const { meta } = verdict;
      this.lastLikeId = meta.lastLikeId;
      this.lastChangeSeq = meta.lastChangeSeq;
      this.budget?.resume(meta.memoryFloorId);
      this.lastSnapshotMs = meta.writtenAtMs;
      return { from: 'snapshot', likes: meta.likes, ageS: Math.round((Date.now() - meta.writtenAtMs) / 1000) };
    } catch (err) {
      if (err instanceof SnapshotUnusable) return { from: 'database', reason: err.problem, detail: messageChain(err) };
      return { from: 'database', reason: 'unreadable', detail: messageChain(err) };
    } finally {
      await reader?.close();
    }
  }

  private applyChange(kind: number, ref: number): void {
    switch (kind) {
      case CHANGE_KIND.likeDeleted: {
        // The row stays, flagged deleted, until pruned; gone, the like is below the floor.
        const row = this.stmt.likeRow.get(ref);
        if (row) this.graph.removeLike(ref, row.actor_id, row.post_id);
        break;
      }
      case CHANGE_KIND.postDeleted:
        this.graph.markPostGone(ref);
        break;
      case CHANGE_KIND.actorStatus: {
        const row = this.stmt.actorActive.get(ref);
        if (row) this.graph.setActorActive(ref, row.active === 1);
        break;
      }
    }
  }
}

/** An error's message and its causes', for a log line. */
function messageChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(': ') || String(err);
}

function prepareStatements(db: ReaderDb) {
  return {
    likes: db
      .prepare<[number, number], [number, number, number, number, number]>('SELECT id, actor_id, post_id, time_us, deleted FROM likes WHERE id > ? ORDER BY id LIMIT ?')
      .raw(),
    // A like's post row exists as long as the like does (the pruner keeps liked posts).
    postsByIds: db
      .prepare<[string], [number, number, number]>('SELECT id, author_id, flags FROM posts WHERE id IN (SELECT value FROM json_each(?))')
      .raw(),
    likeRow: db.prepare<[number], { actor_id: number; post_id: number }>('SELECT actor_id, post_id FROM likes WHERE id = ?'),
    changes: db.prepare<[number, number], [number, number, number]>('SELECT seq, kind, ref_id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?').raw(),
    actorActive: db.prepare<[number], { active: number }>('SELECT active FROM actors WHERE id = ?'),
    inactiveActors: db.prepare<[], [number]>('SELECT id FROM actors WHERE active = 0').raw(),
    // With every change pruned, the highest seq ever given: a snapshot's seq then follows on from it (snapshot-check.ts).
    maxChangeSeq: db.prepare<[], { seq: number | null }>(
      "SELECT coalesce((SELECT max(seq) FROM changes), (SELECT seq FROM sqlite_sequence WHERE name = 'changes')) AS seq",
    ),
    prunedLikeId: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = '${META.prunedLikeId}'`),
    liveLikes: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = '${META.liveLikes}'`),
    cursorTimeUs: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = '${META.cursorTimeUs}'`),
    oldestLikeAbove: db.prepare<[number], { time_us: number }>('SELECT time_us FROM likes WHERE id > ? AND deleted = 0 ORDER BY id LIMIT 1'),
    // An estimate for progress logs: a count(*) would scan the whole table first.
    likeCount: db.prepare<[], { n: number }>('SELECT coalesce(max(id), 0) AS n FROM likes'),
  };
}
