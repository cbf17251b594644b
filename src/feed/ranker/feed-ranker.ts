import type { ServedPage } from '../served-log.js';
import type { LikeGraph } from '../graph/like-graph.js';
import type { PresetGovernor } from './governor.js';
import { decodeCursor, encodeCursor, type PageCache, type RankedList } from './pages.js';
import { PRESETS } from './params.js';
import { NO_SIGNALS, rankForUser, type UserSignals } from './pipeline.js';

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
  /** Which ranking served it: a preset name, or "popular". */
  source: string;
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

  skeleton(request: SkeletonRequest): SkeletonPage {
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
      ({ list, user } = this.rank(request.userDid));
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
  private rank(userDid: string | undefined): { list: RankedList; user: number | undefined } {
    const { graph, lookup, governor } = this.deps;
    const started = performance.now();
    const createdAtMs = this.nowMs();
    const user = userDid === undefined ? undefined : lookup.actorId(userDid);
    const preset = governor.current;
    const ranked =
      user === undefined
        ? undefined
        : rankForUser(graph, user, PRESETS[preset], createdAtMs / 1000, lookup.signals?.(user) ?? NO_SIGNALS);
    governor.record(performance.now() - started + (this.deps.loopLagMs?.() ?? 0));
    const list: RankedList =
      ranked === undefined ? { posts: this.deps.popular(), source: 'popular', createdAtMs } : { posts: ranked, source: preset, createdAtMs };
    return { list, user };
  }
}
