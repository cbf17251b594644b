import type { ServedPage } from '../served-log.js';
import type { LikeGraph } from '../graph/like-graph.js';
import type { PresetGovernor } from './governor.js';
import { decodeCursor, encodeCursor, type PageCache, type RankedList } from './pages.js';
import { PRESETS } from './params.js';
import { NO_SIGNALS, type UserSignals } from './pipeline.js';
import { rankUser, wantsFollows } from './user-ranking.js';

/** What the ranker needs from the database: names to ids and back. */
export interface FeedLookup {
  actorId(did: string): number | undefined;
  postUris(posts: Iterable<number>): string[];
  signals?(actor: number): UserSignals;
}

export interface SkeletonRequest {
  /** The signed-in user (the service JWT's issuer); undefined for anonymous requests. */
  userDid: string | undefined;
  /** 1..100, checked by the HTTP layer. */
  limit: number;
  cursor: string | undefined;
}

export interface SkeletonPage {
  feed: Array<{ post: string }>;
  cursor?: string;
  reqId: string;
  /** Which ranking served it: a preset name, `<preset>+follows` when the user's follows joined it, or "popular". */
  source: string;
}

/** Who users follow, as DIDs (the follows cache). */
export interface FollowsLookup {
  /** Cached and fresh, or undefined; never waits. */
  peek(did: string): ReadonlySet<string> | undefined;
  /** Cached, or fetched within the fetch's own deadline; rejects when that fails. */
  get(did: string): Promise<ReadonlySet<string>>;
}

export interface FeedRankerDeps {
  graph: LikeGraph;
  lookup: FeedLookup;
  pages: PageCache;
  governor: PresetGovernor;
  /** The cached popular list (cold start and anonymous requests). */
  popular: () => Float64Array;
  /**
   * How long requests currently wait for the event loop (ms). Added to each ranking's
   * own time, it makes what the governor sees the latency a request actually gets.
   */
  loopLagMs?: () => number;
  nowMs?: () => number;
  /** Told of each first page of a personal ranking, for the feed-quality log. */
  onServed?: (page: ServedPage) => void;
  /** Told the source of each list ranked afresh (the metrics). */
  onRanked?: (source: string) => void;
  /** Who users follow; without it, cold users get the popular list. */
  follows?: FollowsLookup;
}

/**
 * The ranker as the HTTP layer sees it: (user, limit, cursor) → one page of post
 * URIs. A first page ranks and keeps the whole list under a new reqId; the cursor
 * of the next pages points into that list. A malformed cursor throws
 * InvalidCursorError; a well-formed one whose list expired gets a fresh ranking.
 */
export class FeedRanker {
  private readonly nowMs: () => number;
  /** The popular list has one reqId while it lasts: anonymous traffic must not flush personal lists out of the cache. */
  private popularPage: { posts: Float64Array; reqId: string } | undefined;

  constructor(private readonly deps: FeedRankerDeps) {
    this.nowMs = deps.nowMs ?? Date.now;
  }

  /**
   * One page, after waiting (within the follows fetch's deadline) for what a fresh ranking
   * needs from the network: the follows of a signed-in user with few likes. A failed fetch
   * ranks without them: the popular list, at worst. The HTTP route calls this.
   */
  async serve(request: SkeletonRequest): Promise<SkeletonPage> {
    const { follows } = this.deps;
    if (follows === undefined || request.userDid === undefined || !this.ranksAfresh(request)) return this.skeleton(request);
    const did = request.userDid;
    if (!wantsFollows(this.deps.graph, this.deps.lookup.actorId(did))) return this.skeleton(request);
    // Counted by the cache (fetch outcomes); here a failure only means no follows.
    const followed = await follows.get(did).catch(() => undefined);
    return this.page(request, followed);
  }

  /** One page without waiting: follows are used only when the cache holds them already. */
  skeleton(request: SkeletonRequest): SkeletonPage {
    return this.page(request, request.userDid === undefined ? undefined : this.deps.follows?.peek(request.userDid));
  }

  /** Whether the request ranks a new list (no cursor, or one whose list is gone); throws on a malformed cursor. */
  private ranksAfresh(request: SkeletonRequest): boolean {
    const position = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    return !(position && this.deps.pages.get(position.reqId));
  }

  private page(request: SkeletonRequest, followed: ReadonlySet<string> | undefined): SkeletonPage {
    const position = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
    const kept = position && this.deps.pages.get(position.reqId);
    let reqId: string;
    let list: RankedList;
    let offset: number;
    let user: number | undefined;
    if (position && kept) {
      ({ reqId, offset } = { reqId: position.reqId, offset: position.offset });
      list = kept;
    } else {
      ({ list, user } = this.rank(request.userDid, followed));
      reqId = list.source === 'popular' ? this.popularReqId(list.posts) : this.deps.pages.put(list.posts, list.source);
      offset = 0;
    }
    const slice = list.posts.subarray(offset, offset + request.limit);
    const { onServed, graph } = this.deps;
    if (onServed && user !== undefined && list.source !== 'popular') {
      // A copy: the slice shares the whole ranked list's buffer.
      const authors = Int32Array.from(slice, (post) => graph.postAuthorOf(post));
      onServed({ atMs: this.nowMs(), reqId, user, preset: list.source, posts: slice.slice(), authors });
    }
    const next = offset + slice.length;
    return {
      feed: this.deps.lookup.postUris(slice).map((post) => ({ post })),
      cursor: next < list.posts.length && slice.length > 0 ? encodeCursor(reqId, next) : undefined,
      reqId,
      source: list.source,
    };
  }

  private popularReqId(posts: Float64Array): string {
    const current = this.popularPage;
    if (current && current.posts === posts && this.deps.pages.get(current.reqId)) return current.reqId;
    const reqId = this.deps.pages.put(posts, 'popular');
    this.popularPage = { posts, reqId };
    return reqId;
  }

  /** A fresh ranked list for the user, timed for the governor. */
  private rank(userDid: string | undefined, followedDids: ReadonlySet<string> | undefined): { list: RankedList; user: number | undefined } {
    const { graph, lookup, governor } = this.deps;
    const started = performance.now();
    const createdAtMs = this.nowMs();
    const user = userDid === undefined ? undefined : lookup.actorId(userDid);
    const preset = governor.current;
    // The DIDs' ids are looked up only when the follows will be used: a user past belowLikes ranks without them.
    const followed = followedDids && wantsFollows(graph, user) ? actorIds(lookup, followedDids) : undefined;
    const signals = (user === undefined ? undefined : lookup.signals?.(user)) ?? NO_SIGNALS;
    const ranked = userDid === undefined ? undefined : rankUser(graph, { actor: user, followed, signals }, PRESETS[preset], createdAtMs / 1000);
    governor.record(performance.now() - started + (this.deps.loopLagMs?.() ?? 0));
    const list: RankedList =
      ranked === undefined
        ? { posts: this.deps.popular(), source: 'popular', createdAtMs }
        : { posts: ranked.posts, source: ranked.fromFollows ? `${preset}+follows` : preset, createdAtMs };
    this.deps.onRanked?.(list.source);
    return { list, user };
  }
}

/** The actor ids of the DIDs the database knows; the others have never liked nor posted, so the graph has nothing of theirs. */
export function actorIds(lookup: Pick<FeedLookup, 'actorId'>, dids: Iterable<string>): Float64Array {
  const ids: number[] = [];
  for (const did of dids) {
    const id = lookup.actorId(did);
    if (id !== undefined) ids.push(id);
  }
  return Float64Array.from(ids);
}
