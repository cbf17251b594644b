import type { LikeGraph } from '../graph/like-graph.js';
import { topK } from './kernel.js';
import { diversify } from './pipeline.js';
import type { RankerParams } from './params.js';

export interface PopularParams {
  /** How many of the newest likes one refresh reads. */
  scanLikes: number;
  halfLifeHours: number;
}

export const POPULAR_DEFAULTS: PopularParams = { scanLikes: 300_000, halfLifeHours: 6 };

/**
 * "Popular now": posts by time-decayed like count over the newest likes. Computed in
 * the background and served from memory, never per request: it is what users with
 * too few likes, and requests without a signed-in user, get.
 */
export function computePopular(graph: LikeGraph, rankerParams: RankerParams, nowS: number, p: PopularParams = POPULAR_DEFAULTS): Float64Array {
  const score = new Map<number, number>();
  const halfLifeS = p.halfLifeHours * 3600;
  graph.forEachLikeSince(graph.newestLikeId - p.scanLikes, (post, _actor, timeS) => {
    score.set(post, (score.get(post) ?? 0) + 2 ** (-Math.max(0, nowS - timeS) / halfLifeS));
  });
  const live = [...score].filter(([post]) => graph.isPostLive(post));
  return diversify(graph, topK(live, rankerParams.maxResults * 2).ids, rankerParams);
}
