import { repostCount, type ResolvedDatasetOptions } from '../options.js';
import { type Rng, sum } from '../random.js';
import type { Catalog } from './catalog.js';
import { PairFilter } from './pair-filter.js';
import { pickOwnCommunity, type Population } from './population.js';

/** Keep likes and reposts apart in the pair filter: a user may like and repost one post. */
export const LIKE_SALT = 0;
export const REPOST_SALT = 0x6a09e667;

/** Nobody likes more than this share of their communities' posts; the busiest look beyond. */
const MAX_COMMUNITY_COVERAGE = 0.3;
/** Tries before a user (or the whole like) is given up as impossible to place. */
const FRESH_TRIES_PER_USER = 4;
const BACKLOG_TRIES_PER_USER = 16;
const NETWORK_TRIES_PER_USER = 8;
const USER_TRIES_PER_INTERACTION = 100;

/** Who likes (or reposts) what: an active user by activity, and a visible post new to them. */
export class InteractionPicker {
  /** The user of the last successful pick (the post is returned). */
  user = 0;
  private readonly communityLikeShare: Float32Array;
  private readonly filter: PairFilter;

  constructor(
    options: ResolvedDatasetOptions,
    private readonly population: Population,
    private readonly catalog: Catalog,
    private readonly rng: Rng,
  ) {
    this.communityLikeShare = communityLikeShares(options, population, catalog);
    this.filter = new PairFilter(options.likes + repostCount(options));
  }

  /** Draws an active user and a visible post they have not yet liked (or reposted, per salt). */
  pick(salt: number): number {
    for (let attempt = 0; attempt < USER_TRIES_PER_INTERACTION; attempt++) {
      const user = this.population.likers.sample(this.rng);
      if (!this.population.active[user]) continue;
      const post = this.pickPostFor(user, salt);
      if (post >= 0) {
        this.user = user;
        return post;
      }
    }
    throw new Error('dataset: cannot place a like on a post its user has not liked yet; raise posts or users');
  }

  /**
   * Mostly from one of the user's communities, fresh posts first, then its backlog; from the
   * network as a whole when the user looks beyond, or has liked what the community offers.
   */
  private pickPostFor(user: number, salt: number): number {
    const { catalog, rng } = this;
    const community = rng.float() < this.communityLikeShare[user]! ? pickOwnCommunity(this.population, user, rng) : -1;
    const communityTries = community >= 0 ? FRESH_TRIES_PER_USER + BACKLOG_TRIES_PER_USER : 0;
    for (let attempt = 0; attempt < communityTries + NETWORK_TRIES_PER_USER; attempt++) {
      const inCommunity = attempt < communityTries;
      const tree = !inCommunity
        ? catalog.networkTree
        : attempt < FRESH_TRIES_PER_USER
          ? catalog.freshTrees[community]!
          : catalog.backlogTrees[community]!;
      const slot = tree.sample(rng);
      if (slot < 0) continue;
      const post = inCommunity ? catalog.communityPosts[community]![slot]! : slot;
      if (catalog.isActive(post) && this.filter.addIfNew(user, post, salt)) return post;
    }
    return -1;
  }
}

/**
 * Each user's share of likes looked for in their communities: the usual share (the option
 * inCommunityLikeShare; the rest go to the whole network), less for users
 * so active they would otherwise run out of community posts they have not liked yet.
 */
function communityLikeShares(options: ResolvedDatasetOptions, population: Population, catalog: Catalog): Float32Array {
  const interactions = options.likes * (1 + options.repostShare);
  const totalActivity = sum(population.activity);
  const postsIn = (community: number) => (community >= 0 ? catalog.communityPosts[community]!.length : 0);
  return Float32Array.from(population.activity, (activity, user) => {
    const expected = (interactions * activity) / totalActivity;
    const supply = postsIn(population.primaryCommunity[user]!) + postsIn(population.secondCommunity[user]!);
    return Math.min(options.inCommunityLikeShare, (MAX_COMMUNITY_COVERAGE * supply) / expected);
  });
}
