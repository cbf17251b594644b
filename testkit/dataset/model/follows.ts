/**
 * Who follows whom, for the cold-start evaluation: a deterministic function of the dataset
 * options. The users and posts are rebuilt from the seed as the stream builds them; the
 * follows are drawn from a PRNG of their own, so the like stream is the same with or
 * without them.
 *
 * - Each user follows a heavy-tailed number of accounts: 5 × Pareto(0.8), at most 500
 *   (median about 12, one in ten past 90).
 * - Most follows go to authors in one of the user's communities, each as likely as their
 *   share of its posts; some to authors across the network the same way (the prolific come
 *   up most); the rest to anyone at all.
 * - Stored as compressed rows of two typed arrays: 43 follows a user on average, about
 *   70 MB at 400,000 users.
 */
import { type ResolvedDatasetOptions, resolveOptions, type DatasetOptions } from '../options.js';
import { DID_BODY_CHARS, didBodies } from '../output/identifiers.js';
import { hash32, Rng } from '../random.js';
import { streamWindow } from '../time/timeline.js';
import { Catalog } from './catalog.js';
import { pickOwnCommunity, buildPopulation, type Population } from './population.js';

const FOLLOWS_MIN = 5;
const FOLLOWS_ALPHA = 0.8;
const FOLLOWS_MAX = 500;
/** Shares of follows: authors of the user's communities, then authors network-wide; the rest at random. */
const COMMUNITY_SHARE = 0.75;
const NETWORK_SHARE = 0.15;
/** Draws per wanted follow before a user's list is left short (repeats and self are redrawn). */
const TRIES_PER_FOLLOW = 4;
/** The follows' PRNG is seeded apart from the stream's (a lane of the seed no other draw uses). */
const FOLLOWS_LANE = 0x666f6c6c;

export interface Follows {
  readonly users: number;
  /** The users `user` follows, by dataset index (the order they were drawn in). */
  followsOf(user: number): Uint32Array;
  /** The DID the stream writes for a user index. */
  didOf(user: number): string;
  /** The users and posts as the stream drew them (before any account event). */
  readonly population: Population;
  readonly catalog: Catalog;
}

export function buildFollows(options: DatasetOptions): Follows {
  const resolved = resolveOptions(options);
  const { population, catalog } = rebuildModel(resolved);
  const rng = new Rng(hash32(resolved.seed, 0, FOLLOWS_LANE));
  const { users } = resolved;

  // 1. How many each user follows, then the rows' starts.
  const start = new Uint32Array(users + 1);
  for (let user = 0; user < users; user++) start[user + 1] = start[user]! + followCount(rng, users);
  const items = new Uint32Array(start[users]!);

  // 2. Whom: drawn without repeats; a row left short keeps zeros past its end, so its end moves back.
  const ends = new Uint32Array(users);
  const seen = new Set<number>();
  for (let user = 0; user < users; user++) {
    seen.clear();
    const want = start[user + 1]! - start[user]!;
    let at = start[user]!;
    for (let tries = 0; tries < want * TRIES_PER_FOLLOW && seen.size < want; tries++) {
      const account = pickAccount(rng, population, catalog, user, users);
      if (account === user || seen.has(account)) continue;
      seen.add(account);
      items[at++] = account;
    }
    ends[user] = at;
  }

  const bodies = didBodies(resolved.seed, users);
  const decoder = new TextDecoder();
  return {
    users,
    followsOf: (user) => items.subarray(start[user]!, ends[user]!),
    didOf: (user) => `did:plc:${decoder.decode(bodies.subarray(user * DID_BODY_CHARS, (user + 1) * DID_BODY_CHARS))}`,
    population,
    catalog,
  };
}

/** The users and posts, drawn from the seed in the stream's order (see StreamGenerator). */
function rebuildModel(options: ResolvedDatasetOptions): { population: Population; catalog: Catalog } {
  const rng = new Rng(options.seed);
  const population = buildPopulation(options, rng);
  return { population, catalog: new Catalog(options, population, rng, streamWindow(options.days, options.endTimeUs).originUs) };
}

function followCount(rng: Rng, users: number): number {
  return Math.min(users - 1, Math.round(FOLLOWS_MIN * rng.pareto(FOLLOWS_ALPHA, FOLLOWS_MAX / FOLLOWS_MIN)));
}

/** One account to follow: the author of a random post of one of the user's communities, or of the network, or anyone. */
function pickAccount(rng: Rng, population: Population, catalog: Catalog, user: number, users: number): number {
  const kind = rng.float();
  if (kind < COMMUNITY_SHARE) {
    const posts = catalog.communityPosts[pickOwnCommunity(population, user, rng)]!;
    if (posts.length > 0) return catalog.author[posts[rng.below(posts.length)]!]!;
  }
  if (kind < COMMUNITY_SHARE + NETWORK_SHARE) return catalog.author[rng.below(catalog.author.length)]!;
  return rng.below(users);
}
