import type { Config } from '../config/config.js';
import type { AppContext, Clock } from '../roles/context.js';
import type { ReaderDb } from '../store/database.js';
import { EventLoopLag } from './event-loop-lag.js';
import { SqliteFeedLookup } from './feed-lookup.js';
import { feedQuality, type QualityRow, ServedLog } from './served-log.js';
import { GraphSync } from './graph/graph-sync.js';
import { LikeList } from './graph/like-graph.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { explainRanking, type ExplainLimits } from './ranker/explain.js';
import { actorIds, FeedRanker } from './ranker/feed-ranker.js';
import type { FollowsCache } from './follows/follows-cache.js';
import { wantsFollows } from './ranker/user-ranking.js';
import { GOVERNOR_DEFAULTS, PresetGovernor } from './ranker/governor.js';
import { PageCache } from './ranker/pages.js';
import { DEFAULT, PRESETS } from './ranker/params.js';
import { NO_SIGNALS } from './ranker/pipeline.js';
import { computePopular } from './ranker/popular.js';

/** The like graph saved beside the database (graph-snapshot.ts). */
export const graphSnapshotPath = (dbPath: string): string => `${dbPath}.graph`;

/** A ranked post and why: its strongest co-likers, each with the seed posts they liked too, and whether the user follows them. */
export interface ExplainedPost {
  uri: string;
  colikers: Array<{ did: string; sharedSeeds: string[]; followed: boolean }>;
}

export type Explanation =
  /** Neither likes nor follows of this DID are known. */
  | { kind: 'unknown' }
  /** Nothing to rank from (too few likes, follows that lead nowhere): the feed serves them the popular list. */
  | { kind: 'cold' }
  /** `source` as the feed's: the preset, `<preset>+follows` when follows joined in. */
  | { kind: 'ranked'; source: string; posts: ExplainedPost[] };

/**
 * Everything behind a feed request, on any node: a read-only connection, the like
 * graph kept in step with it, the popular list refreshed in the background, and
 * the FeedRanker the HTTP layer calls.
 */
export class FeedEngine {
  readonly ranker: FeedRanker;
  private readonly sync: GraphSync;
  private readonly lookup: SqliteFeedLookup;
  private readonly governor: PresetGovernor;
  private popular: Float64Array = new Float64Array(0);
  /** Graph size at the last popular refresh. */
  private popularFromLikes = 0;
  /** Likes the budget dropped, as far as the metrics were told. */
  private droppedReported = 0;
  private ready = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private popularTimer: NodeJS.Timeout | undefined;
  private readonly loopLag = new EventLoopLag();

  private constructor(
    private db: ReaderDb,
    private readonly reopen: () => ReaderDb,
    private readonly config: Config['feed'],
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly served: ServedLog,
    dbPath: string,
    private readonly follows: FollowsCache | undefined,
  ) {
    this.sync = new GraphSync(db, log, {
      memoryBudgetBytes: config.graphMemoryBytes,
      snapshot: { path: graphSnapshotPath(dbPath), intervalMs: config.graphSnapshotIntervalMs },
    });
    metrics.graphMemoryBudgetBytes.set(config.graphMemoryBytes);
    this.lookup = new SqliteFeedLookup(db, clock);
    this.governor = new PresetGovernor({ ...GOVERNOR_DEFAULTS, budgetMs: config.latencyBudgetMs }, (to) => {
      log.warn({ preset: to }, 'ranker preset switched');
      metrics.rankerPresetSwitches.inc({ to });
      this.reportPreset(to);
    });
    this.reportPreset(this.governor.current);
    this.ranker = new FeedRanker({
      graph: this.sync.graph,
      lookup: this.lookup,
      pages: new PageCache(config.pageTtlMs, config.pageCacheMax),
      governor: this.governor,
      popular: () => this.popular,
      loopLagMs: () => this.loopLag.ms,
      nowMs: clock,
      onServed: (page) => served.record(page),
      onRanked: (source) => metrics.feedRankings.inc({ source }),
      follows,
    });
  }

  /** `served` outlives the engine: a replica's reload keeps what this node served; so does the follows cache. */
  static open(ctx: Pick<AppContext, 'config' | 'metrics' | 'log' | 'clock' | 'openReader'> & Partial<Pick<AppContext, 'follows'>>, served = new ServedLog()): FeedEngine {
    return new FeedEngine(ctx.openReader(), ctx.openReader, ctx.config.feed, ctx.metrics, ctx.log, ctx.clock, served, ctx.config.dbPath, ctx.follows);
  }

  /** Like-through and show-less rates of the pages this node served, per UTC day and preset. */
  feedQuality(nowMs = this.clock()): QualityRow[] {
    const { graph } = this.sync;
    return feedQuality(this.served.pages(nowMs), {
      forEachLike: (user, visit) => {
        const likes = new LikeList();
        graph.readLikesOfActor(user, Infinity, likes);
        for (let i = 0; i < likes.length; i++) visit(likes.ids[i]!, likes.timesS[i]! * 1000);
      },
      lessRequests: (user, sinceMs) => this.lookup.lessRequests(user, sinceMs),
    });
  }

  /**
   * Runs `change` with this engine's connection closed, then reopens it. A replica's
   * follower writes the file this way: an open connection would keep serving pages
   * from its cache. Everything here is synchronous, so no request sees the gap.
   */
  withDatabaseClosed(change: () => void): void {
    if (this.stopped) return change(); // closed for good: nothing to reopen
    this.db.close();
    try {
      change();
    } finally {
      this.db = this.reopen();
      this.sync.attach(this.db);
      this.lookup.attach(this.db);
    }
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** Seconds from the newest event the served database holds to `nowMs`; undefined before the first. */
  ingestLagSeconds(nowMs: number): number | undefined {
    const throughUs = this.sync.ingestedThroughUs();
    return throughUs === undefined ? undefined : Math.max(0, nowMs / 1000 - throughUs / 1e6);
  }

  /** True once stop() ran: a load it cut short failed for that reason alone. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** Loads the graph (yielding to the event loop as it goes), then keeps it current. */
  async start(): Promise<void> {
    await this.sync.load();
    const start = this.sync.loadStart!;
    this.metrics.graphLoads.inc({ from: start.from, reason: start.from === 'database' ? start.reason : '' });
    if (this.stopped) return;
    this.refreshPopular();
    this.ready = true;
    this.metrics.graphReady.set(1);
    this.reportGraph();
    this.pollTimer = setInterval(() => this.poll(), this.config.graphPollMs);
    this.loopLag.start();
    this.popularTimer = setInterval(() => this.refreshPopular(), this.config.popularRefreshMs);
  }

  /**
   * The user's first ranked posts with their reasons, ranked as a feed request would be
   * (same preset, signals, follows and kernel), but not timed for the governor nor cached.
   */
  async explainFor(did: string, limits: ExplainLimits): Promise<Explanation> {
    const { graph } = this.sync;
    const user = this.lookup.actorId(did);
    // As the feed: follows are asked for (and waited for) only while the user has few likes.
    const followedDids = this.follows && wantsFollows(graph, user) ? await this.follows.get(did).catch(() => undefined) : undefined;
    if (user === undefined && followedDids === undefined) return { kind: 'unknown' };
    const preset = this.governor.current;
    const signals = user === undefined ? NO_SIGNALS : this.lookup.signals(user);
    const followed = followedDids && actorIds(this.lookup, followedDids);
    const explained = explainRanking(graph, { actor: user, followed, signals }, PRESETS[preset], this.clock() / 1000, limits);
    if (explained === undefined) return { kind: 'cold' };
    const posts: ExplainedPost[] = [];
    for (const reason of explained.posts) {
      const uri = this.lookup.postUri(reason.post);
      if (uri === undefined) continue; // pruned since: the feed leaves it out too
      const colikers = reason.colikers.flatMap((c) => {
        const coliker = this.lookup.actorDid(c.actor);
        return coliker === undefined ? [] : [{ did: coliker, sharedSeeds: c.sharedSeeds.flatMap((seed) => this.lookup.postUri(seed) ?? []), followed: c.followed }];
      });
      posts.push({ uri, colikers });
    }
    return { kind: 'ranked', source: explained.fromFollows ? `${preset}+follows` : preset, posts };
  }

  stop(): void {
    this.stopped = true;
    this.sync.stop();
    clearInterval(this.pollTimer);
    clearInterval(this.popularTimer);
    this.loopLag.stop();
    this.db.close();
  }

  private poll(): void {
    try {
      // Catch up in short steps; a large backlog finishes over the next polls.
      for (let step = 0; step < 10; step++) {
        const read = this.sync.poll();
        if (read.likes + read.changes === 0) break;
      }
      // A node that started on a young database should not wait a whole refresh period
      // for a full popular list: refresh early while the list is short and the graph grows.
      const { graph } = this.sync;
      if (this.popular.length < DEFAULT.maxResults && graph.likeCount > this.popularFromLikes * 1.1) this.refreshPopular();
      this.reportGraph();
    } catch (err) {
      this.log.error({ err }, 'like graph poll failed');
    }
  }

  private reportGraph(): void {
    const { graph } = this.sync;
    const { metrics } = this;
    metrics.graphLikes.set(graph.likeCount);
    metrics.graphPosts.set(graph.postCount);
    metrics.graphBytes.set(graph.memoryBytes());
    const budget = this.sync.budgetReport();
    metrics.graphMemoryFloorLikeId.set(budget.memoryFloorId);
    // A replica's reload starts a new engine, and its count at 0: the counter takes the growth.
    metrics.graphLikesDropped.inc(Math.max(0, budget.likesDropped - this.droppedReported));
    this.droppedReported = budget.likesDropped;
    if (budget.likesLeftOut !== undefined) metrics.graphLikesLeftOut.set(budget.likesLeftOut);
    if (budget.oldestLikeTimeS !== undefined) metrics.graphOldestLikeTimeSeconds.set(budget.oldestLikeTimeS);
  }

  private refreshPopular(): void {
    const started = performance.now();
    this.popular = computePopular(this.sync.graph, DEFAULT, this.clock() / 1000);
    this.popularFromLikes = this.sync.graph.likeCount;
    this.log.debug({ posts: this.popular.length, ms: Math.round(performance.now() - started) }, 'popular list refreshed');
  }

  private reportPreset(current: keyof typeof PRESETS): void {
    for (const name of Object.keys(PRESETS)) this.metrics.rankerPreset.set({ preset: name }, name === current ? 1 : 0);
  }
}
