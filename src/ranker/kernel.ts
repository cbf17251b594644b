/**
 * The scoring kernel: pure functions of the like graph, the parameters and the
 * clock passed in. Every ranking path (the feed, its cheap preset, the co-like
 * baseline, explanations) runs these same loops.
 *
 *   seed weight       s(p)  = 2^(-age(p) / seedHalfLife)                  for the user's recent likes p
 *   overlap           o(u)  = Σ_p s(p) / likes(p)^seedSpecificityExponent  over seeds p that u liked
 *   co-liker weight   w(u)  = o(u) / likes(u)^colikerActivityExponent      top maxColikers kept
 *   candidate score   c(q)  = Σ_u w(u) · 2^(-age(u♥q) / candidateHalfLife) over co-likers u who liked q
 *   final score       f(q)  = c(q) / likes(q)^popularityExponent
 */
import type { LikeGraph } from '../graph/like-graph.js';
import type { RankerParams } from './params.js';

export type GraphView = Pick<
  LikeGraph,
  'forEachLikeOfActor' | 'forEachLikerOfPost' | 'likesOfActor' | 'likesOfPost' | 'isPostLive' | 'isActorActive' | 'postAuthorOf'
>;

/** Receives each contribution as the kernel makes it ("liked by 3 people who also liked X"). */
export interface ExplainCollector {
  coliker(actor: number, viaSeedPost: number, contribution: number): void;
  candidate(post: number, viaColiker: number, contribution: number): void;
}

export interface Seeds {
  posts: Int32Array;
  weights: Float64Array;
  /** Every post of the user's likes that was looked at: never recommended back. */
  liked: Set<number>;
}

export interface Weighted {
  ids: Int32Array;
  weights: Float64Array;
}

const SECONDS_PER_HOUR = 3600;

/** 2^(-age / halfLife); an infinite half-life means no decay. */
function decay(ageS: number, halfLifeHours: number): number {
  return Number.isFinite(halfLifeHours) ? 2 ** (-Math.max(0, ageS) / (halfLifeHours * SECONDS_PER_HOUR)) : 1;
}

/** Stage 1: the user's most recent likes, recency-weighted. */
export function seeds(graph: GraphView, user: number, p: RankerParams, nowS: number): Seeds {
  const posts: number[] = [];
  const weights: number[] = [];
  const liked = new Set<number>();
  graph.forEachLikeOfActor(user, p.seedMaxLikes, (post, timeS) => {
    liked.add(post);
    posts.push(post);
    weights.push(decay(nowS - timeS, p.seedHalfLifeHours));
  });
  return { posts: Int32Array.from(posts), weights: Float64Array.from(weights), liked };
}

/** Stage 2: who else liked the seeds, weighted by overlap and specificity, capped. */
export function colikers(graph: GraphView, user: number, s: Seeds, p: RankerParams, explain?: ExplainCollector): Weighted {
  const overlap = new Map<number, number>();
  for (let k = 0; k < s.posts.length; k++) {
    const post = s.posts[k]!;
    const share = s.weights[k]! / graph.likesOfPost(post) ** p.seedSpecificityExponent;
    graph.forEachLikerOfPost(post, p.likersPerSeedPost, (actor) => {
      if (actor === user || !graph.isActorActive(actor)) return;
      overlap.set(actor, (overlap.get(actor) ?? 0) + share);
      explain?.coliker(actor, post, share);
    });
  }
  const weighted = [...overlap].map(([actor, o]) => [actor, o / graph.likesOfActor(actor) ** p.colikerActivityExponent] as const);
  return topK(weighted, p.maxColikers);
}

/** Stages 3 and 4: what the co-likers liked recently, time-decayed, with a popularity penalty. */
export function candidates(graph: GraphView, c: Weighted, p: RankerParams, nowS: number, explain?: ExplainCollector): Weighted {
  const score = new Map<number, number>();
  const windowStartS = nowS - p.candidateWindowHours * SECONDS_PER_HOUR;
  for (let k = 0; k < c.ids.length; k++) {
    const actor = c.ids[k]!;
    const weight = c.weights[k]!;
    graph.forEachLikeOfActor(actor, p.candidateLikesPerColiker, (post, timeS) => {
      if (timeS < windowStartS) return false; // newest first: the rest is older still
      const contribution = weight * decay(nowS - timeS, p.candidateHalfLifeHours);
      score.set(post, (score.get(post) ?? 0) + contribution);
      explain?.candidate(post, actor, contribution);
    });
  }
  const scored = [...score].map(([post, sc]) => [post, sc / graph.likesOfPost(post) ** p.popularityExponent] as const);
  return topK(scored, Number.POSITIVE_INFINITY);
}

/** The k highest-weighted entries, highest first (ties: lower id first, for stable output). */
export function topK(entries: ReadonlyArray<readonly [number, number]>, k: number): Weighted {
  const sorted = [...entries].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, Math.min(k, entries.length));
  return { ids: Int32Array.from(sorted, (e) => e[0]), weights: Float64Array.from(sorted, (e) => e[1]) };
}
