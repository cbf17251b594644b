/**
 * Reference (a), recency co-like: people who liked what the user liked lately, and what
 * they liked in the last day, the newest counting most.
 *
 *   co-liker weight  w(u) = |seeds(user) ∩ likes(u)| / √likes(u)
 *   score            c(q) = Σ_u w(u) · e^(-age(u♥q) / 6 h)   over u's likes of the last 24 h
 *
 * Posts the user liked or wrote, and posts not live, are left out.
 */
import { LikeList } from '../../../src/feed/graph/like-graph.js';
import { Accumulator } from '../../../src/feed/ranker/accumulator.js';
import type { GraphView } from '../../../src/feed/ranker/kernel.js';
import { bestAccepted, entriesOf, recommendable, SECONDS_PER_HOUR, topEntries, userLikes } from './shared.js';

/** The user's newest likes that find co-likers: about a week of an eligible user's likes. */
const SEED_LIKES = 100;
/**
 * Newest likers read per seed: every liker of all but the viral posts (a post's likes
 * follow a heavy tail; the newest are the co-likers whose taste is current).
 */
const LIKERS_PER_SEED = 500;
/** Co-likers kept, by weight: past a thousand the extra ones add little but reads. */
const MAX_COLIKERS = 1000;
/** A co-liker's likes read at most within the window: the busiest like hundreds a day. */
const LIKES_PER_COLIKER = 200;
const WINDOW_HOURS = 24;
const DECAY_HOURS = 6;

const list = new LikeList();
const shared = new Accumulator();
const scores = new Accumulator();

export function recencyColike(graph: GraphView, user: number, nowS: number, limit: number): Float64Array {
  const { seeds, liked } = userLikes(graph, user, SEED_LIKES, list);

  // Co-likers: how many of the seeds each liked, over the square root of their activity.
  shared.clear();
  for (const seed of seeds) {
    graph.readLikersOfPost(seed, LIKERS_PER_SEED, list);
    for (let i = 0; i < list.length; i++) {
      const actor = list.ids[i]!;
      if (actor !== user && graph.isActorActive(actor)) shared.add(actor, 1);
    }
  }
  const weighted = entriesOf(shared);
  for (let i = 0; i < weighted.ids.length; i++) weighted.weights[i] = weighted.weights[i]! / Math.sqrt(graph.likesOfActor(weighted.ids[i]!) || 1);
  const colikers = topEntries(weighted, MAX_COLIKERS);

  // Candidates: the co-likers' likes of the last day, decayed by age.
  scores.clear();
  const notBeforeS = nowS - WINDOW_HOURS * SECONDS_PER_HOUR;
  const decayS = DECAY_HOURS * SECONDS_PER_HOUR;
  for (let k = 0; k < colikers.ids.length; k++) {
    graph.readLikesOfActor(colikers.ids[k]!, LIKES_PER_COLIKER, list, { notBeforeS });
    for (let i = 0; i < list.length; i++) {
      scores.add(list.ids[i]!, colikers.weights[k]! * Math.exp(-Math.max(0, nowS - list.timesS[i]!) / decayS));
    }
  }
  return bestAccepted(entriesOf(scores), limit, (post) => recommendable(graph, user, liked, post));
}
