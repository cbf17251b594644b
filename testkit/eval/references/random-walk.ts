/**
 * Reference (c), a random walk in the spirit of Pixie: from the user to one of their recent
 * likes, to one of its likers, to one of that liker's likes of the last 48 h; from there,
 * unless the walk restarts at the user, on to one of that post's likers, and so on. Posts
 * are ranked by how often the walk lands on them.
 *
 * Seeded per (seed, user), so a run is reproducible and one user's walk does not depend on
 * who was ranked before. Each list is read once per request and cached: the walk then draws
 * from memory, as Pixie does from its in-memory graph.
 */
import { LikeList } from '../../../src/feed/graph/like-graph.js';
import { Accumulator } from '../../../src/feed/ranker/accumulator.js';
import type { GraphView } from '../../../src/feed/ranker/kernel.js';
import { hash32, Rng } from '../../dataset/random.js';
import { bestAccepted, entriesOf, recommendable, SECONDS_PER_HOUR, userLikes } from './shared.js';

/** The user's newest likes the walk starts from. */
const SEED_LIKES = 100;
/**
 * Landings per request: enough that the top 50 are visited several times each. At 1 M likes,
 * 5,000 landings with the bounds below gave recall 0.40 in 18 ms; 10,000 landings reading 100
 * likers and 100 likes a node gave 0.36 in 106 ms (each new node costs a read, unlike Pixie's).
 */
const STEPS = 5_000;
/** Hops at most, landings or not: walks into dead ends (no recent likes) stop somewhere. */
const MAX_HOPS = 4 * STEPS;
/** The chance to go back to the user after each landing: most walks stay one hop from the user's likes. */
const RESTART = 0.8;
/** Newest likers of a post the walk may step to, and newest likes of a liker: the newest are the current taste. */
const LIKERS_PER_POST = 30;
const LIKES_PER_LIKER = 30;
/** Only recent likes are landed on: the held-out posts are the ones being liked now. */
const WINDOW_HOURS = 48;
/** Keeps the walk's stream of draws apart from other users of the eval seed. */
const WALK_LANE = 7;

const list = new LikeList();
const visits = new Accumulator();

export function randomWalk(graph: GraphView, user: number, nowS: number, limit: number, seed: number): Float64Array {
  const { seeds, liked } = userLikes(graph, user, SEED_LIKES, list);
  const rng = new Rng(hash32(seed, user, WALK_LANE));
  const notBeforeS = nowS - WINDOW_HOURS * SECONDS_PER_HOUR;
  const likersOf = cached((post) => {
    graph.readLikersOfPost(post, LIKERS_PER_POST, list);
    return list.ids.subarray(0, list.length).filter((actor) => actor !== user && graph.isActorActive(actor));
  });
  const likesOf = cached((actor) => {
    graph.readLikesOfActor(actor, LIKES_PER_LIKER, list, { notBeforeS });
    return list.ids.slice(0, list.length);
  });

  visits.clear();
  let post = -1;
  for (let hops = 0, landed = 0; seeds.length > 0 && landed < STEPS && hops < MAX_HOPS; hops++) {
    if (post < 0 || rng.float() < RESTART) post = seeds[rng.below(seeds.length)]!;
    const likers = likersOf(post);
    const likes = likers.length > 0 ? likesOf(likers[rng.below(likers.length)]!) : likers;
    if (likes.length === 0) {
      post = -1;
      continue;
    }
    post = likes[rng.below(likes.length)]!;
    visits.add(post, 1);
    landed++;
  }
  return bestAccepted(entriesOf(visits), limit, (p) => recommendable(graph, user, liked, p));
}

/** One read per key per request. */
function cached(read: (key: number) => Float64Array): (key: number) => Float64Array {
  const lists = new Map<number, Float64Array>();
  return (key) => {
    let ids = lists.get(key);
    if (ids === undefined) lists.set(key, (ids = read(key)));
    return ids;
  };
}
