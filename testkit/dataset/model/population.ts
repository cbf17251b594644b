import type { ResolvedDatasetOptions } from '../options.js';
import { AliasTable, type Rng, sum } from '../random.js';

/** Pareto shape (lower is heavier) and cap (in multiples of the least active) of like activity. */
const USER_ACTIVITY_ALPHA = 1.2;
const USER_ACTIVITY_CAP = 500;
/** Nobody can like more than this share of all posts, however active. */
const USER_MAX_POST_COVERAGE = 0.2;
/** Community sizes follow Zipf with this exponent. */
const COMMUNITY_SIZE_ZIPF = 0.8;
const SECOND_COMMUNITY_SHARE = 0.4;
/** A member of two communities likes (and posts) in the second one this often. */
const SECOND_COMMUNITY_ACTIVITY_SHARE = 0.3;

/** The users: which communities they belong to, how much they like, and whether they still can. */
export interface Population {
  primaryCommunity: Int32Array;
  /** -1 for users of one community. */
  secondCommunity: Int32Array;
  /** 0 once the account is deactivated, deleted or taken down. */
  active: Uint8Array;
  /** Relative like (and repost) activity, and its sampler. */
  activity: Float64Array;
  likers: AliasTable;
}

export function buildPopulation(options: ResolvedDatasetOptions, rng: Rng): Population {
  const { users, communities } = options;
  const communityPicker = new AliasTable(zipfWeights(communities, COMMUNITY_SIZE_ZIPF));
  const primaryCommunity = new Int32Array(users);
  const secondCommunity = new Int32Array(users).fill(-1);
  const activity = new Float64Array(users);
  for (let user = 0; user < users; user++) {
    primaryCommunity[user] = communityPicker.sample(rng);
    if (communities > 1 && rng.float() < SECOND_COMMUNITY_SHARE) {
      secondCommunity[user] = otherCommunity(primaryCommunity[user]!, communities, rng);
    }
    activity[user] = rng.pareto(USER_ACTIVITY_ALPHA, USER_ACTIVITY_CAP);
  }
  capShare(activity, (USER_MAX_POST_COVERAGE * options.posts) / (options.likes * (1 + options.repostShare)));
  return {
    primaryCommunity,
    secondCommunity,
    active: new Uint8Array(users).fill(1),
    activity,
    likers: new AliasTable(activity),
  };
}

/** One of the user's communities, for a post or a like: mostly the first. */
export function pickOwnCommunity(population: Population, user: number, rng: Rng): number {
  const second = population.secondCommunity[user]!;
  return second >= 0 && rng.float() < SECOND_COMMUNITY_ACTIVITY_SHARE ? second : population.primaryCommunity[user]!;
}

export function belongsTo(population: Population, user: number, community: number): boolean {
  return community === population.primaryCommunity[user] || community === population.secondCommunity[user];
}

function zipfWeights(n: number, exponent: number): Float64Array {
  return Float64Array.from({ length: n }, (_, rank) => (rank + 1) ** -exponent);
}

function otherCommunity(community: number, communities: number, rng: Rng): number {
  const other = rng.below(communities - 1);
  return other >= community ? other + 1 : other;
}

/** Lowers the largest weights until none is more than `maxShare` of the total. */
function capShare(weights: Float64Array, maxShare: number): void {
  for (let pass = 0; pass < 8; pass++) {
    const cap = maxShare * sum(weights);
    let capped = false;
    weights.forEach((w, i) => {
      if (w > cap) {
        weights[i] = cap;
        capped = true;
      }
    });
    if (!capped) return;
  }
}
