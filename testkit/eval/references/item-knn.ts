/**
 * Reference (b), item-kNN: posts whose likers overlap most with the likers of what the
 * user liked lately, among posts liked in the last 24 h.
 *
 *   cosine(a, b) = co(a, b) / √(likes(a) · max(likes(b), 40))   co: people who liked both
 *   score(b)     = Σ_{a ∈ seeds(user)} cosine(a, b)
 *
 * Co-occurrence goes through the seeds' likers, so the work follows the bounds below and
 * not the size of the graph: co(a, b) counts the likers among a's newest that have b among
 * their newest likes (an undercount for viral seeds and for the busiest likers).
 */
import { LikeList } from '../../../src/feed/graph/like-graph.js';
import { Accumulator } from '../../../src/feed/ranker/accumulator.js';
import type { GraphView } from '../../../src/feed/ranker/kernel.js';
import { bestAccepted, entriesOf, recommendable, SECONDS_PER_HOUR, userLikes } from './shared.js';

/** The user's newest likes taken as seed posts. */
const SEED_LIKES = 50;
/** Newest likers read per seed: a few dozen give a stable overlap for all but the rarest posts. */
const LIKERS_PER_SEED = 50;
/**
 * Newest likes read per liker: the liker's current taste. With the two bounds above, at most
 * 50 × 50 × 30 = 75,000 slots a request, at 2 M likes as at 20 M. At 1 M likes, 30 gave
 * recall 0.30 against 0.27 for 100 (a week of a typical user), in two fifths of the work.
 */
const LIKES_PER_LIKER = 30;
/**
 * Shrinkage: a candidate's likes count as at least this many, so a post with two likes that
 * happen to co-occur does not outrank one with fifty. At 1 M likes: recall 0.30 without it,
 * 0.37 at 10, 0.39 at 40; past that it keeps rising (0.43 at 200) as the score turns into a
 * plain co-like count, no longer a cosine.
 */
const MIN_CANDIDATE_LIKES = 40;
/** Candidates are posts with a like this recent (checked on the shortlist only). */
const WINDOW_HOURS = 24;

const list = new LikeList();
const newest = new LikeList();
const co = new Accumulator();

export function itemKnn(graph: GraphView, user: number, nowS: number, limit: number): Float64Array {
  const { seeds, liked } = userLikes(graph, user, SEED_LIKES, list);

  // Σ_a co(a, b) / √likes(a), one liker of a seed at a time; √likes(b) divides at the end.
  co.clear();
  for (const seed of seeds) {
    const share = 1 / Math.sqrt(graph.likesOfPost(seed) || 1);
    graph.readLikersOfPost(seed, LIKERS_PER_SEED, newest);
    for (let j = 0; j < newest.length; j++) {
      const liker = newest.ids[j]!;
      if (liker === user || !graph.isActorActive(liker)) continue;
      graph.readLikesOfActor(liker, LIKES_PER_LIKER, list);
      for (let i = 0; i < list.length; i++) co.add(list.ids[i]!, share);
    }
  }
  const scores = entriesOf(co);
  for (let i = 0; i < scores.ids.length; i++) scores.weights[i] = scores.weights[i]! / Math.sqrt(Math.max(MIN_CANDIDATE_LIKES, graph.likesOfPost(scores.ids[i]!)));

  const notBeforeS = nowS - WINDOW_HOURS * SECONDS_PER_HOUR;
  const likedLately = (post: number) => {
    graph.readLikersOfPost(post, 1, newest);
    return newest.length > 0 && newest.timesS[0]! >= notBeforeS;
  };
  return bestAccepted(scores, limit, (post) => recommendable(graph, user, liked, post) && likedLately(post));
}
