/**
 * "Why this post": the ranking run through the same kernel with a collector that
 * keeps, for each ranked post, the co-likers that gave it score and, for each of
 * them, the seed posts they liked too (the user's own likes, or, from follows, what
 * the followed accounts liked). A followed account is a co-liker itself.
 */
import type { ExplainCollector, GraphView } from './kernel.js';
import type { RankerParams } from './params.js';
import { rankUser, type UserToRank } from './user-ranking.js';

export interface ColikerReason {
  actor: number;
  /** What this co-liker added to the post's score (before the popularity penalty). */
  contribution: number;
  /** Seed posts this co-liker also liked, strongest first. */
  sharedSeeds: number[];
  /** An account the user follows. */
  followed: boolean;
}

export interface PostReason {
  post: number;
  colikers: ColikerReason[];
}

export interface ExplainLimits {
  posts: number;
  colikersPerPost: number;
  seedsPerColiker: number;
}

/** Every contribution the kernel reports, by who and what it went to. */
class Recorder implements ExplainCollector {
  readonly seedsByActor = new Map<number, Map<number, number>>();
  readonly colikersByPost = new Map<number, Map<number, number>>();

  coliker(actor: number, viaSeedPost: number, contribution: number): void {
    add(this.seedsByActor, actor, viaSeedPost, contribution);
  }

  candidate(post: number, viaColiker: number, contribution: number): void {
    add(this.colikersByPost, post, viaColiker, contribution);
  }
}

/** The user's first `limits.posts` ranked posts with their reasons, or undefined when the feed serves them the popular list. */
export function explainRanking(
  graph: GraphView,
  user: UserToRank,
  p: RankerParams,
  nowS: number,
  limits: ExplainLimits,
): { posts: PostReason[]; fromFollows: boolean } | undefined {
  const recorder = new Recorder();
  const ranked = rankUser(graph, user, p, nowS, recorder);
  if (ranked === undefined) return undefined;
  const followed = new Set(Array.from(user.followed ?? []));
  const posts = Array.from(ranked.posts.subarray(0, limits.posts), (post) => ({
    post,
    colikers: strongest(recorder.colikersByPost.get(post), limits.colikersPerPost).map(([actor, contribution]) => ({
      actor,
      contribution,
      sharedSeeds: strongest(recorder.seedsByActor.get(actor), limits.seedsPerColiker).map(([seed]) => seed),
      followed: followed.has(actor),
    })),
  }));
  return { posts, fromFollows: ranked.fromFollows };
}

function add(sums: Map<number, Map<number, number>>, key: number, via: number, amount: number): void {
  let inner = sums.get(key);
  if (!inner) sums.set(key, (inner = new Map()));
  inner.set(via, (inner.get(via) ?? 0) + amount);
}

/** The k largest entries, largest first (ties: lower id first). */
function strongest(sums: Map<number, number> | undefined, k: number): Array<[number, number]> {
  if (!sums) return [];
  return [...sums].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
}
