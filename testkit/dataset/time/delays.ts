import type { Rng } from '../random.js';
import { US_PER_HOUR, US_PER_MINUTE, US_PER_MS, US_PER_SECOND } from './units.js';

/**
 * The gaps between related times: when a post is seen, liked away or deleted after it is made,
 * and how the client's, the PDS's and Jetstream's clocks differ for one event.
 */

/** A post is seen, and can be liked, only a little after it is created. */
const VISIBILITY_DELAY_MIN_US = 2 * US_PER_SECOND;
const VISIBILITY_DELAY_MEAN_US = 20 * US_PER_SECOND;
const VISIBILITY_DELAY_MAX_US = 5 * US_PER_MINUTE;
/** Unlikes are either quick regrets or a later clean-up. */
const QUICK_UNLIKE_SHARE = 0.4;
const QUICK_UNLIKE_MEAN_US = 20 * US_PER_SECOND;
const LATE_UNLIKE_MEAN_US = 8 * US_PER_HOUR;
const POST_DELETE_MIN_DELAY_US = 10 * US_PER_MINUTE;
const POST_DELETE_MEAN_DELAY_US = 12 * US_PER_HOUR;
/** Client clocks run a bit behind Jetstream's receive time. */
const CREATED_AT_LAG_MIN_US = 250 * US_PER_MS;
const CREATED_AT_LAG_MEAN_US = 700 * US_PER_MS;
const CREATED_AT_LAG_MAX_US = 10 * US_PER_SECOND;
/** Jetstream workers reorder a little: some events are stamped slightly early. */
const JITTER_SHARE = 0.25;
const JITTER_MEAN_US = 30 * US_PER_MS;
const JITTER_MAX_US = 400 * US_PER_MS;

export function visibleAtUs(rng: Rng, postedUs: number): number {
  return postedUs + Math.min(VISIBILITY_DELAY_MAX_US, VISIBILITY_DELAY_MIN_US + rng.exponential(VISIBILITY_DELAY_MEAN_US));
}

export function unlikeAtUs(rng: Rng, likedUs: number): number {
  return likedUs + rng.exponential(rng.float() < QUICK_UNLIKE_SHARE ? QUICK_UNLIKE_MEAN_US : LATE_UNLIKE_MEAN_US);
}

export function postDeleteAtUs(rng: Rng, postedUs: number): number {
  return postedUs + POST_DELETE_MIN_DELAY_US + rng.exponential(POST_DELETE_MEAN_DELAY_US);
}

/** The client's createdAt, a little before Jetstream saw the event (whole microseconds). */
export function createdAtUs(rng: Rng, atUs: number): number {
  return Math.floor(atUs - Math.min(CREATED_AT_LAG_MAX_US, CREATED_AT_LAG_MIN_US + rng.exponential(CREATED_AT_LAG_MEAN_US)));
}

/** The repo revision: committed by the PDS between the client's createdAt and Jetstream. */
export function revisionUs(rng: Rng, createdUs: number, atUs: number): number {
  return Math.floor(createdUs + (atUs - createdUs) * (0.3 + 0.6 * rng.float()));
}

/** Jetstream's receive time, sometimes stamped a little early: time_us steps back now and then. */
export function receivedUs(rng: Rng, atUs: number): number {
  const jitterUs = rng.float() < JITTER_SHARE ? Math.min(JITTER_MAX_US, rng.exponential(JITTER_MEAN_US)) : 0;
  return Math.floor(atUs - jitterUs);
}
