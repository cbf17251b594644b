/**
 * Cold start from follows: a user with few likes gives the kernel little to start from,
 * but the accounts they follow say what they care about. Those accounts stand in for the
 * co-likers a user's seeds would have found, and what they liked recently (with the user's
 * own few likes, weighted up) seeds a second hop to the people who like the same things:
 *
 *   followed     f(a)  = 1 / likes(a)^colikerActivityExponent       for followed, active accounts a
 *   hop seeds    s(p)  = Σ_a 2^(-age(a♥p) / seedHalfLife)  +  ownLikeWeight · 2^(-age(u♥p) / seedHalfLife)
 *   second hop   the kernel's co-likers of the seeds s
 *   co-likers    w     = (1 - hopShare) · f / Σf  +  hopShare · hop / Σhop
 *
 * then the kernel's candidates, filter and diversify, as for any user. As the user's own
 * likes accumulate, `blend` gives their personal ranking a growing share of each page.
 */
import { LikeList } from '../graph/like-graph.js';
import { Accumulator } from './accumulator.js';
import { candidates, colikers, type ExplainCollector, type GraphView, type Seeds, seeds, topK, type Weighted } from './kernel.js';
import type { RankerParams } from './params.js';
import { diversify, filter, NO_SIGNALS, type UserSignals } from './pipeline.js';
import { powerTable } from './power-table.js';

export interface FollowsParams {
  /** Below this many likes of the user's own, follows join the ranking (at 0 likes, they are all of it). */
  belowLikes: number;
  /** Followed accounts read at most (a user may follow thousands). */
  maxFollowed: number;
  /** Recent likes read per followed account, to seed the second hop. */
  likesPerFollowed: number;
  /** The second hop's share of the co-likers' weight. */
  hopShare: number;
  /** A like of the user's own among the second hop's seeds weighs this many followed accounts' likes. */
  ownLikeWeight: number;
}

/**
 * Tuned on `npm run eval`'s cold-start slice with seed 7 (reported with 42), recall@50 of
 * `follows`: the second hop carries nearly all the weight (0.333 at hopShare 0.5 and 0.342
 * at 0.65 without own likes; with them, 0.352 at 0.75, 0.356 at 0.85, 0.359 at 0.95, 0.361
 * at 1, and 0.9 keeps a little of the followed accounts' own likes, as a real follow says
 * more than shared taste); own likes at 6 (0.342 at 0, 0.348 at 6, 0.344 at 20, hopShare
 * 0.65); 200 followed accounts read as good as 500, and 10 or 40 likes each as 20.
 */
export const FOLLOWS_DEFAULTS: FollowsParams = { belowLikes: 10, maxFollowed: 200, likesPerFollowed: 20, hopShare: 0.9, ownLikeWeight: 6 };

const SECONDS_PER_HOUR = 3600;
const list = new LikeList();
const seedWeights = new Accumulator();

/** The ranked post ids from the user's follows, best first; empty when the follows lead nowhere. */
export function rankFromFollows(
  graph: GraphView,
  user: number,
  followed: ArrayLike<number>,
  p: RankerParams,
  f: FollowsParams,
  nowS: number,
  signals: UserSignals = NO_SIGNALS,
  explain?: ExplainCollector,
): Float64Array {
  const accounts = followedAccounts(graph, user, followed, p, f);
  if (accounts.ids.length === 0) return new Float64Array(0);
  const own = seeds(graph, user, p, nowS);
  const hop = colikers(graph, user, followedLikes(graph, accounts.ids, own, p, f, nowS), p, explain);
  const merged = mix(accounts, hop, f.hopShare, p.maxColikers);
  const scored = candidates(graph, merged, p, nowS, explain);
  const kept = filter(graph, scored, (post) => !own.liked.has(post) && !signals.seenPosts.has(post), user, signals);
  return diversify(graph, kept, p);
}

/**
 * The personal ranking's share of a page grows with the user's likes: none at 0 likes,
 * all of it from `belowLikes` on. The two lists are interleaved in that proportion,
 * each in its own order, without repeats.
 */
export function blend(personal: Float64Array, fromFollows: Float64Array, userLikes: number, f: FollowsParams, maxResults: number): Float64Array {
  const share = Math.min(1, Math.max(0, userLikes / f.belowLikes));
  const out: number[] = [];
  const taken = new Set<number>();
  let i = 0;
  let j = 0;
  let fromPersonal = 0;
  while (out.length < maxResults && (i < personal.length || j < fromFollows.length)) {
    const wantPersonal = j >= fromFollows.length || (i < personal.length && fromPersonal < share * (out.length + 1));
    const post = wantPersonal ? personal[i++]! : fromFollows[j++]!;
    if (taken.has(post)) continue;
    taken.add(post);
    out.push(post);
    if (wantPersonal) fromPersonal++;
  }
  return Float64Array.from(out);
}

/** The followed accounts that are active and not the user, weighted down by their own activity. */
function followedAccounts(graph: GraphView, user: number, followed: ArrayLike<number>, p: RankerParams, f: FollowsParams): Weighted {
  const activity = powerTable(p.colikerActivityExponent);
  const entries: Array<[number, number]> = [];
  for (let k = 0; k < followed.length && entries.length < f.maxFollowed; k++) {
    const actor = followed[k]!;
    const likes = graph.likesOfActor(actor);
    if (actor === user || likes === 0 || !graph.isActorActive(actor)) continue;
    entries.push([actor, 1 / activity.of(likes)]);
  }
  return topK(entries, p.maxColikers);
}

/**
 * The followed accounts' recent likes as seeds, each post weighted by how many of them liked
 * it and how recently; the user's own few likes join them, weighted up.
 */
function followedLikes(graph: GraphView, accounts: Float64Array, own: Seeds, p: RankerParams, f: FollowsParams, nowS: number): Seeds {
  const liked = own.liked;
  seedWeights.clear();
  for (let k = 0; k < own.posts.length && f.ownLikeWeight > 0; k++) seedWeights.add(own.posts[k]!, f.ownLikeWeight * own.weights[k]!);
  const rate = Math.LN2 / (p.seedHalfLifeHours * SECONDS_PER_HOUR);
  const notBeforeS = nowS - p.candidateWindowHours * SECONDS_PER_HOUR;
  for (const actor of accounts) {
    graph.readLikesOfActor(actor, f.likesPerFollowed, list, { notBeforeS });
    for (let i = 0; i < list.length; i++) {
      if (!liked.has(list.ids[i]!)) seedWeights.add(list.ids[i]!, Math.exp(-Math.max(0, nowS - list.timesS[i]!) * rate));
    }
  }
  const entries: Array<[number, number]> = [];
  for (let i = 0; i < seedWeights.size; i++) entries.push([seedWeights.idAt(i), seedWeights.sumAt(i)]);
  const best = topK(entries, p.seedMaxLikes);
  return { posts: best.ids, weights: best.weights, liked };
}

/** Two weighted co-liker lists, each scaled to sum 1, mixed; the heaviest `max` kept. */
function mix(a: Weighted, b: Weighted, bShare: number, max: number): Weighted {
  const sums = new Map<number, number>();
  const add = (w: Weighted, share: number) => {
    const total = w.weights.reduce((s, x) => s + x, 0);
    if (total <= 0) return;
    w.ids.forEach((id, k) => sums.set(id, (sums.get(id) ?? 0) + (share * w.weights[k]!) / total));
  };
  add(a, b.ids.length > 0 ? 1 - bShare : 1);
  add(b, bShare);
  return topK([...sums], max);
}
