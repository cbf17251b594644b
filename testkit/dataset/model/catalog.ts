import type { ResolvedDatasetOptions } from '../options.js';
import { AliasTable, type Rng, WeightedSlots } from '../random.js';
import { US_PER_HOUR } from '../time/units.js';
import { pickOwnCommunity, type Population } from './population.js';

/** Pareto shapes (lower is heavier) and caps (in multiples of the least). */
const AUTHOR_ACTIVITY_ALPHA = 1.5;
const AUTHOR_ACTIVITY_CAP = 200;
const POST_APPEAL_ALPHA = 0.8;
const POST_APPEAL_CAP = 100_000;
/**
 * Likes in a community follow its newest posts (their decay is the option freshDecayHours);
 * someone who has liked those digs into the community's backlog; network-wide picks favour
 * lasting popularity.
 */
const BACKLOG_DECAY_US = 48 * US_PER_HOUR;
const NETWORK_DECAY_US = 24 * US_PER_HOUR;
const REPLY_SHARE = 0.25;
/** Replies are seen by fewer people than top-level posts. */
const REPLY_APPEAL_FACTOR = 0.1;

const POST_UNCREATED = 0;
const POST_PENDING = 1;
const POST_ACTIVE = 2;
const POST_GONE = 3;

/**
 * The posts: authors, communities and appeal drawn up front, then a life cycle of created,
 * visible (weighted in the trees likes are drawn from) and gone.
 *
 * A like's weight is appeal × exp(-age / decay); since the decay is exponential, appeal ×
 * exp(visible since / decay) is a constant per post, so the trees never need re-weighting.
 */
export class Catalog {
  readonly author: Uint32Array;
  readonly community: Uint32Array;
  readonly rkeyUs: Float64Array;
  /** Per community, its tree slot to post id. */
  readonly communityPosts: Uint32Array[];
  /** Per community, posts weighted for fresh likes and for digging into the backlog. */
  readonly freshTrees: WeightedSlots[];
  readonly backlogTrees: WeightedSlots[];
  readonly networkTree: WeightedSlots;
  /** Index of the post within its community's tree. */
  private readonly communitySlot: Uint32Array;
  private readonly appeal: Float64Array;
  private readonly activatedUs: Float64Array;
  private readonly state: Uint8Array;
  private readonly freshDecayUs: number;
  /** Post ids by author (CSR), to take an account's posts down with it. */
  private readonly authorStart: Uint32Array;
  private readonly postsByAuthor: Uint32Array;

  constructor(
    options: ResolvedDatasetOptions,
    population: Population,
    rng: Rng,
    /** Weights are exp(time since this / decay): any fixed time before the first post will do. */
    private readonly weightOriginUs: number,
  ) {
    const { posts, users, communities } = options;
    this.freshDecayUs = options.freshDecayHours * US_PER_HOUR;
    const authorPicker = new AliasTable(Float64Array.from({ length: users }, () => rng.pareto(AUTHOR_ACTIVITY_ALPHA, AUTHOR_ACTIVITY_CAP)));
    this.author = new Uint32Array(posts);
    this.community = new Uint32Array(posts);
    this.communitySlot = new Uint32Array(posts);
    this.appeal = new Float64Array(posts);
    const communitySizes = new Uint32Array(communities);
    for (let post = 0; post < posts; post++) {
      this.author[post] = authorPicker.sample(rng);
      this.community[post] = pickOwnCommunity(population, this.author[post]!, rng);
      this.communitySlot[post] = communitySizes[this.community[post]!]!++;
      this.appeal[post] = rng.pareto(POST_APPEAL_ALPHA, POST_APPEAL_CAP);
    }
    this.communityPosts = Array.from(communitySizes, (size) => new Uint32Array(size));
    for (let post = 0; post < posts; post++) this.communityPosts[this.community[post]!]![this.communitySlot[post]!] = post;
    const byAuthor = groupBy(this.author, users);
    this.authorStart = byAuthor.start;
    this.postsByAuthor = byAuthor.items;
    this.rkeyUs = new Float64Array(posts);
    this.activatedUs = new Float64Array(posts);
    this.state = new Uint8Array(posts);
    this.freshTrees = Array.from(communitySizes, (size) => new WeightedSlots(size));
    this.backlogTrees = Array.from(communitySizes, (size) => new WeightedSlots(size));
    this.networkTree = new WeightedSlots(posts);
  }

  /** Created, with the record key minted at `rkeyUs`; not visible yet. */
  create(post: number, rkeyUs: number): void {
    this.rkeyUs[post] = rkeyUs;
    this.state[post] = POST_PENDING;
  }

  /** A created post becomes visible and can be liked from now on. */
  activate(post: number, atUs: number): void {
    if (this.state[post] !== POST_PENDING) return;
    this.state[post] = POST_ACTIVE;
    this.activatedUs[post] = atUs;
    this.reweigh(post, 1);
  }

  isActive(post: number): boolean {
    return this.state[post] === POST_ACTIVE;
  }

  /** Takes a created post down for good; false when it was gone already. */
  remove(post: number): boolean {
    if (this.state[post] === POST_GONE) return false;
    if (this.state[post] === POST_ACTIVE) this.reweigh(post, -1);
    this.state[post] = POST_GONE;
    return true;
  }

  /** A gone account's posts stop collecting likes; those not created yet never will be. */
  removeAllBy(author: number): void {
    for (let i = this.authorStart[author]!; i < this.authorStart[author + 1]!; i++) {
      const post = this.postsByAuthor[i]!;
      if (this.state[post] !== POST_UNCREATED) this.remove(post);
    }
  }

  /**
   * Makes some new posts replies: returns the post replied to, a visible one of the same
   * community (fresh ones first), or -1 for a top-level post.
   */
  pickReplyParent(post: number, rng: Rng): number {
    if (rng.float() >= REPLY_SHARE) return -1;
    const community = this.community[post]!;
    const slot = this.freshTrees[community]!.sample(rng);
    if (slot < 0) return -1;
    const parent = this.communityPosts[community]![slot]!;
    if (!this.isActive(parent)) return -1;
    this.appeal[post]! *= REPLY_APPEAL_FACTOR;
    return parent;
  }

  /** Adds (sign 1) or removes (sign -1) a visible post's weights in its community and the network. */
  private reweigh(post: number, sign: 1 | -1): void {
    const ageUs = this.activatedUs[post]! - this.weightOriginUs;
    const appeal = this.appeal[post]!;
    const community = this.community[post]!;
    const slot = this.communitySlot[post]!;
    this.freshTrees[community]!.add(slot, sign * appeal * Math.exp(ageUs / this.freshDecayUs));
    this.backlogTrees[community]!.add(slot, sign * appeal * Math.exp(ageUs / BACKLOG_DECAY_US));
    this.networkTree.add(post, sign * appeal * Math.exp(ageUs / NETWORK_DECAY_US));
  }
}

/** Compressed rows: the indices i with keys[i] === k are items[start[k] .. start[k + 1]). */
function groupBy(keys: Uint32Array, keyCount: number): { start: Uint32Array; items: Uint32Array } {
  const start = new Uint32Array(keyCount + 1);
  for (const key of keys) start[key + 1]!++;
  for (let k = 0; k < keyCount; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, keyCount);
  const items = new Uint32Array(keys.length);
  keys.forEach((key, i) => (items[fill[key]!++] = i));
  return { start, items };
}
