/**
 * The cold-start slice of the offline evaluation: users with at most a handful of live likes
 * at the cut-off, ranked from whom they follow.
 *
 * The generated stream has next to no such users with likes to measure after the cut-off
 * (its least active still like a few a day), so the slice is made: users eligible as in the
 * main evaluation (enough relevant held-out likes), a seeded sample, each keeping only its
 * newest k likes before the cut-off (k uniform in 0..COLD_MAX_LIKES), the rest taken out of
 * the graph. Run it after the main methods: the graph is changed for good.
 *
 * - popularity: the popular list minus their likes, what they get without follows.
 * - follows: as the service serves them: the personal ranking (DEFAULT; empty below its
 *   minSeedLikes) blended with rankFromFollows by the user's live likes.
 * - follows-only: rankFromFollows alone.
 *
 * A ranking that comes back empty falls back to the popular list (counted). Follows come
 * from the dataset's model; a followed account never seen in the stream has no actor id
 * and is skipped, as the service would skip it.
 */
import { blend, FOLLOWS_DEFAULTS, type FollowsParams, rankFromFollows } from '../../src/feed/ranker/cold-start.js';
import type { GraphView } from '../../src/feed/ranker/kernel.js';
import { DEFAULT, type RankerParams } from '../../src/feed/ranker/params.js';
import { rankForUser } from '../../src/feed/ranker/pipeline.js';
import type { Follows } from '../dataset/model/follows.js';
import { Rng } from '../dataset/random.js';
import { CountingView } from './counting-view.js';
import { eligibleUsers, popularFor, sampleUsers, score } from './evaluate.js';
import type { EvalWorld } from './world.js';

/** The slice's users have at most this many live likes at the cut-off (the main eval's start at 5). */
export const COLD_MAX_LIKES = 5;

export interface ColdStartOptions {
  /** Users keep at most this many live likes at the cut-off... */
  maxLikesBefore: number;
  /** ...and have at least this many relevant held-out posts. */
  minLikesAfter: number;
  maxUsers: number;
  seed: number;
  k: number;
  params?: RankerParams;
  follows?: FollowsParams;
}

export interface ColdMethodResult {
  name: string;
  recall: number;
  ndcg: number;
  msPerRequest: number;
  workPerRequest: number;
  /** Rankings that came back empty and were served the popular list. */
  fallbacks: number;
}

export interface ColdStartReport {
  eligibleUsers: number;
  evaluatedUsers: number;
  /** Per evaluated user: follows drawn, and of those, accounts the stream has an actor id for. */
  meanFollows: number;
  meanFollowsSeen: number;
  /** Evaluated users with no live like at all at the cut-off. */
  zeroLikeUsers: number;
  methods: ColdMethodResult[];
}

type Ranking = (view: GraphView, user: number, followed: Float64Array) => Float64Array;

/**
 * The slice: users with enough likes after the cut-off, a seeded sample, each left with
 * its newest k likes before it. Changes the graph; call once per world.
 */
export function makeColdSlice(world: EvalWorld, o: ColdStartOptions): { eligibleUsers: number; users: number[] } {
  const eligible = eligibleUsers(world, 1, o.minLikesAfter);
  const users = sampleUsers(eligible, o.maxUsers, o.seed);
  keepNewestLikes(world, users, o.maxLikesBefore, o.seed);
  return { eligibleUsers: eligible.length, users };
}

export function evaluateColdStart(world: EvalWorld, follows: Follows, popular: Float64Array, o: ColdStartOptions): ColdStartReport {
  const { eligibleUsers: eligible, users } = makeColdSlice(world, o);
  return rankColdSlice(world, follows, popular, users, eligible, o);
}

/** Ranks the slice's users with each method and scores them against their held-out likes. */
export function rankColdSlice(world: EvalWorld, follows: Follows, popular: Float64Array, users: number[], eligible: number, o: ColdStartOptions): ColdStartReport {
  const p = o.params ?? DEFAULT;
  const f = o.follows ?? FOLLOWS_DEFAULTS;
  const nowS = world.cutoffS;

  // 1. Their follows as actor ids.
  const followed = followedActors(world, follows, users);
  let drawn = 0;
  let seen = 0;
  for (const user of users) {
    drawn += followed.get(user)!.drawn;
    seen += followed.get(user)!.actors.length;
  }

  // 2. The methods.
  const methods: Array<[string, Ranking]> = [
    ['popularity', () => new Float64Array(0)],
    [
      'follows',
      (view, user, actors) => {
        const personal = rankForUser(view, user, p, nowS) ?? new Float64Array(0);
        return blend(personal, rankFromFollows(view, user, actors, p, f, nowS), view.likesOfActor(user), f, p.maxResults);
      },
    ],
    ['follows-only', (view, user, actors) => rankFromFollows(view, user, actors, p, f, nowS)],
  ];
  const n = Math.max(1, users.length);
  return {
    eligibleUsers: eligible,
    evaluatedUsers: users.length,
    meanFollows: drawn / n,
    meanFollowsSeen: seen / n,
    zeroLikeUsers: users.filter((user) => world.graph.likesOfActor(user) === 0).length,
    methods: methods.map(([name, rank]) => {
      const view = new CountingView(world.graph);
      const total = { recall: 0, ndcg: 0, ms: 0, fallbacks: 0 };
      for (const user of users) {
        const started = performance.now();
        let ranked = rank(view, user, followed.get(user)!.actors);
        if (ranked.length === 0) {
          if (name !== 'popularity') total.fallbacks++;
          ranked = popularFor(world.graph, user, popular);
        }
        total.ms += performance.now() - started;
        const s = score(ranked, world.heldOut.get(user)!, o.k);
        total.recall += s.recall;
        total.ndcg += s.ndcg;
      }
      return { name, recall: total.recall / n, ndcg: total.ndcg / n, msPerRequest: total.ms / n, workPerRequest: view.touched / n, fallbacks: total.fallbacks };
    }),
  };
}

/** Per user (actor id): the followed accounts' actor ids, in follow order, and how many follows were drawn. */
function followedActors(world: EvalWorld, follows: Follows, users: number[]): Map<number, { actors: Float64Array; drawn: number }> {
  const wanted = new Set(users);
  const actorOf = new Uint32Array(follows.users);
  const indexOf = new Map<number, number>();
  for (let index = 0; index < follows.users; index++) {
    const actor = world.actorIds.get(follows.didOf(index)) ?? 0;
    actorOf[index] = actor;
    if (wanted.has(actor)) indexOf.set(actor, index);
  }
  const out = new Map<number, { actors: Float64Array; drawn: number }>();
  for (const user of users) {
    const drawn = follows.followsOf(indexOf.get(user)!);
    const actors: number[] = [];
    for (const index of drawn) if (actorOf[index]! > 0) actors.push(actorOf[index]!);
    out.set(user, { actors: Float64Array.from(actors), drawn: drawn.length });
  }
  return out;
}

/** Takes each user's likes before the cut-off out of the graph but the newest k, k seeded and uniform in 0..maxKeep. */
function keepNewestLikes(world: EvalWorld, users: number[], maxKeep: number, seed: number): void {
  const rng = new Rng(seed);
  const likesOf = new Map<number, Array<[number, number]>>(users.map((user) => [user, []]));
  world.graph.forEachLikeInRange(1, world.graph.newestLikeId, (id, actor, row) => {
    likesOf.get(actor)?.push([id, world.graph.postIdOfRow(row)]);
  });
  for (const user of users) {
    const likes = likesOf.get(user)!; // oldest first
    const keep = rng.below(maxKeep + 1);
    for (const [id, post] of likes.slice(0, Math.max(0, likes.length - keep))) world.graph.removeLike(id, user, post);
  }
}
