import { DEFAULT_DIURNAL_AMPLITUDE, POST_PRELUDE_US } from './time/timeline.js';
import { US_PER_DAY, US_PER_SECOND } from './time/units.js';

export interface DatasetOptions {
  seed: number;
  likes: number;
  users?: number;
  posts?: number;
  communities?: number;
  days?: number;
  /** End of the stream; pass a fixed value for reproducible output. */
  endTimeUs?: number;
  /** Extra malformed lines, as a share of valid lines. */
  malformedShare?: number;
  /** Share of likes later deleted by their author. */
  unlikeShare?: number;
  /** Share of posts later deleted by their author. */
  postDeleteShare?: number;
  /** Share of users with an account event (most of them deactivate, delete or get taken down). */
  accountEventShare?: number;
  /** Reposts, as a share of the like count. */
  repostShare?: number;
  /**
   * How much activity swings over the day: peak-to-trough (1 + a) / (1 - a). 0 makes
   * the stream flat, so a replay at a constant rate keeps pace with the wall clock.
   */
  diurnalAmplitude?: number;
  /**
   * Taste sparsity: the share of likes looked for in the liker's own communities (the rest
   * go to the whole network). Lower makes taste less clustered, and co-likes weaker evidence.
   */
  inCommunityLikeShare?: number;
  /** Freshness scale: a community post's pull on likes falls as exp(-age / this). */
  freshDecayHours?: number;
}

export type ResolvedDatasetOptions = Required<DatasetOptions>;

const DEFAULT_LIKES_PER_USER = 50;
const DEFAULT_LIKES_PER_POST = 10;
const DEFAULT_USERS_PER_COMMUNITY = 1000;
const DEFAULT_DAYS = 7;
const DEFAULT_MALFORMED_SHARE = 0.001;
const DEFAULT_UNLIKE_SHARE = 0.02;
const DEFAULT_POST_DELETE_SHARE = 0.01;
const DEFAULT_ACCOUNT_EVENT_SHARE = 0.002;
const DEFAULT_REPOST_SHARE = 0.1;
const DEFAULT_IN_COMMUNITY_LIKE_SHARE = 0.9;
const DEFAULT_FRESH_DECAY_HOURS = 4;
/** A month: past that a post is as fresh for a week as the backlog's 48 h decay makes it. */
const MAX_FRESH_DECAY_HOURS = 720;
const MIN_DAYS = 0.01;
/** Keeps exp(age / decay) weights inside float64 range (60 days at a 4 h decay is e^360). */
const MAX_DAYS = 60;
const MAX_DECAY_EXPONENT = (MAX_DAYS * 24) / DEFAULT_FRESH_DECAY_HOURS;
/** Beyond this many likes per (user, post) pair, picks of a not-yet-liked post would starve. */
const MAX_LIKE_DENSITY = 0.05;

/** Fills in the defaults; throws a RangeError naming the first option out of range. */
export function resolveOptions(options: DatasetOptions): ResolvedDatasetOptions {
  const likes = requireInteger('likes', options.likes, 1);
  // Small datasets get more users and posts than the ratios say, so MAX_LIKE_DENSITY holds.
  const defaultUsers = Math.max(Math.round(likes / DEFAULT_LIKES_PER_USER), Math.ceil(2 * Math.sqrt(likes)));
  const defaultPosts = Math.max(Math.round(likes / DEFAULT_LIKES_PER_POST), Math.ceil(10 * Math.sqrt(likes)));
  const users = requireInteger('users', options.users ?? defaultUsers, 1);
  const posts = requireInteger('posts', options.posts ?? defaultPosts, 1);
  const communities = requireInteger(
    'communities',
    options.communities ?? Math.min(users, Math.max(2, Math.round(users / DEFAULT_USERS_PER_COMMUNITY))),
    1,
    users,
  );
  const days = requireNumber('days', options.days ?? DEFAULT_DAYS, MIN_DAYS, MAX_DAYS);
  const endTimeUs = requireInteger('endTimeUs', options.endTimeUs ?? Math.floor(Date.now() / 1000) * US_PER_SECOND, 1);
  if (endTimeUs - days * US_PER_DAY - POST_PRELUDE_US <= 0) throw new RangeError('endTimeUs: must leave room for the window before it');
  if (likes > users * posts * MAX_LIKE_DENSITY) {
    throw new RangeError(`likes: ${likes} is too many for ${users} users and ${posts} posts; raise users or posts`);
  }
  // The same float64 bound as MAX_DAYS, for a faster fresh decay over a shorter window.
  const freshDecayHours = requireNumber(
    'freshDecayHours',
    options.freshDecayHours ?? DEFAULT_FRESH_DECAY_HOURS,
    (days * 24) / MAX_DECAY_EXPONENT,
    MAX_FRESH_DECAY_HOURS,
  );
  return {
    seed: requireInteger('seed', options.seed, 0, 0xffff_ffff),
    likes,
    users,
    posts,
    communities,
    days,
    endTimeUs,
    malformedShare: requireNumber('malformedShare', options.malformedShare ?? DEFAULT_MALFORMED_SHARE, 0, 0.5),
    unlikeShare: requireNumber('unlikeShare', options.unlikeShare ?? DEFAULT_UNLIKE_SHARE, 0, 1),
    postDeleteShare: requireNumber('postDeleteShare', options.postDeleteShare ?? DEFAULT_POST_DELETE_SHARE, 0, 1),
    accountEventShare: requireNumber('accountEventShare', options.accountEventShare ?? DEFAULT_ACCOUNT_EVENT_SHARE, 0, 1),
    repostShare: requireNumber('repostShare', options.repostShare ?? DEFAULT_REPOST_SHARE, 0, 1),
    diurnalAmplitude: requireNumber('diurnalAmplitude', options.diurnalAmplitude ?? DEFAULT_DIURNAL_AMPLITUDE, 0, 0.9),
    inCommunityLikeShare: requireNumber('inCommunityLikeShare', options.inCommunityLikeShare ?? DEFAULT_IN_COMMUNITY_LIKE_SHARE, 0, 1),
    freshDecayHours,
  };
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function requireNumber(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name}: expected a number in [${min}, ${max}], got ${value}`);
  }
  return value;
}

/** Reposts are scheduled as an exact count, like likes. */
export function repostCount(options: ResolvedDatasetOptions): number {
  return Math.round(options.likes * options.repostShare);
}
