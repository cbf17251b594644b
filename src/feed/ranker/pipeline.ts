/**
 * A personal ranking, read as a table of contents:
 * seeds → co-likers → candidates → score → filter → diversify → page.
 * Scoring is the kernel's; this file only orders the stages.
 */
import { candidates, colikers, type ExplainCollector, type GraphView, type Seeds, seeds, type Weighted } from './kernel.js';
import type { RankerParams } from './params.js';

/** What the user told us through interactions (sendInteractions). */
export interface UserSignals {
  /** Shown already: never again. */
  seenPosts: ReadonlySet<number>;
  /** "Show less like this": their authors are left out. */
  lessAuthors: ReadonlySet<number>;
  /** "Show more like this": these posts count as the user's own freshest likes. */
  morePosts: ReadonlySet<number>;
}

export const NO_SIGNALS: UserSignals = { seenPosts: new Set(), lessAuthors: new Set(), morePosts: new Set() };

/** The ranked post ids for `user`, best first, or undefined when the user has too few likes (cold start). */
export function rankForUser(
  graph: GraphView,
  user: number,
  p: RankerParams,
  nowS: number,
  signals: UserSignals = NO_SIGNALS,
  explain?: ExplainCollector,
): Float64Array | undefined {
  const s = withMoreSeeds(seeds(graph, user, p, nowS), signals.morePosts, Math.ceil(p.seedMaxLikes / 4));
  if (s.posts.length < p.minSeedLikes) return undefined;
  const c = colikers(graph, user, s, p, explain);
  const scored = candidates(graph, c, p, nowS, explain);
  const kept = filter(graph, scored, (post) => !s.liked.has(post) && !signals.seenPosts.has(post), user, signals);
  return diversify(graph, kept, p);
}

/**
 * "Show more" posts (newest first, at most `max`, so they cannot blow the preset's work
 * bound) join the seeds at full weight, and are not recommended back.
 */
function withMoreSeeds(s: Seeds, more: ReadonlySet<number>, max: number): Seeds {
  const extra = [...more].filter((post) => !s.liked.has(post)).slice(0, max);
  if (extra.length === 0) return s;
  for (const post of extra) s.liked.add(post);
  return {
    posts: Float64Array.from([...s.posts, ...extra]),
    weights: Float64Array.from([...s.weights, ...extra.map(() => 1)]),
    liked: s.liked,
  };
}

/** Stage 5: drop what the user liked, wrote or saw, deleted posts, and authors they asked to see less of. */
export function filter(graph: GraphView, scored: Weighted, keep: (post: number) => boolean, user: number, signals: UserSignals): Float64Array {
  const out: number[] = [];
  for (const post of scored.ids) {
    const author = graph.postAuthorOf(post);
    if (author === user || signals.lessAuthors.has(author) || !graph.isPostLive(post) || !keep(post)) continue;
    out.push(post);
  }
  return Float64Array.from(out);
}

/**
 * Stage 6: at most `maxPostsPerAuthorPerPage` posts of one author on each page; the
 * rest wait for a later page, in score order. Stage 7 (page) keeps the first `maxResults`.
 */
export function diversify(graph: GraphView, ranked: Iterable<number>, p: RankerParams): Float64Array {
  const out: number[] = [];
  let waiting: number[] = [];
  let perAuthor = new Map<number, number>();
  const take = (post: number): boolean => {
    if (out.length >= p.maxResults) return false;
    const author = graph.postAuthorOf(post);
    const count = perAuthor.get(author) ?? 0;
    if (count >= p.maxPostsPerAuthorPerPage) return false;
    perAuthor.set(author, count + 1);
    out.push(post);
    if (out.length % p.pageSize === 0) perAuthor = new Map();
    return true;
  };
  for (const post of ranked) {
    if (out.length >= p.maxResults) break;
    // A new page first takes the posts that waited, best first.
    if (out.length % p.pageSize === 0 && waiting.length > 0) waiting = waiting.filter((w) => !take(w));
    if (!take(post)) waiting.push(post);
  }
  // The tail: what still waits goes in; when nothing else is left to mix in, the cap gives way.
  while (waiting.length > 0 && out.length < p.maxResults) {
    const before = waiting.length;
    waiting = waiting.filter((post) => out.length >= p.maxResults || !take(post));
    if (waiting.length === before) perAuthor = new Map();
  }
  return Float64Array.from(out);
}
