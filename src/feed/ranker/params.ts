/**
 * Every knob of the ranker, with units in the names. Deployment settings live in
 * config/; these are about what the feed shows. Presets are built on `DEFAULT`.
 */
export interface RankerParams {
  /** Seeds: the user's most recent likes, weighted by recency. */
  seedMaxLikes: number;
  seedHalfLifeHours: number;
  /** Below this many likes the user gets the popular list (cold start). */
  minSeedLikes: number;

  /** Co-likers: who else liked the seeds. Newest likers of each seed post first. */
  likersPerSeedPost: number;
  maxColikers: number;
  /** How much a post's popularity dilutes the overlap it gives (0 = not at all). */
  seedSpecificityExponent: number;
  /**
   * How a co-liker's weight grows with their overlap with the user: overlap^this (1 = in
   * proportion). Below 1, many co-likers who share some of the user's likes together
   * outweigh one who shares many: what a community likes next is better told by many.
   */
  colikerOverlapExponent: number;
  /** How much a co-liker's own activity dilutes their weight (0 = not at all). */
  colikerActivityExponent: number;

  /** Candidates: what the co-likers liked recently. */
  candidateLikesPerColiker: number;
  candidateWindowHours: number;
  candidateHalfLifeHours: number;
  /** Score divided by (post likes)^this: a popularity penalty (0 = none). */
  popularityExponent: number;

  /** Diversify and page. */
  maxPostsPerAuthorPerPage: number;
  pageSize: number;
  maxResults: number;
}

export const DEFAULT: RankerParams = {
  seedMaxLikes: 200,
  seedHalfLifeHours: 72,
  minSeedLikes: 3,
  likersPerSeedPost: 100,
  // Many co-likers, few likes read from each: 1,500 × 15 reads less than 500 × 60 did and
  // scores higher; 2,000 × 15 scores no better (npm run eval, tuned on seed 7: docs/benchmarks.md).
  maxColikers: 1500,
  seedSpecificityExponent: 0.5,
  colikerOverlapExponent: 0.75,
  colikerActivityExponent: 0.4,
  candidateLikesPerColiker: 15,
  candidateWindowHours: 48,
  // 6 h holds up best across the generator's settings (npm run eval -- --variants, seed 7, 1 M
  // likes: against recency_colike, 3 h gave 1.05 / 1.02 / 1.04 for the default / slow-freshness
  // / sparse-taste streams, 6 h 1.04 / 1.05 / 1.05).
  candidateHalfLifeHours: 6,
  popularityExponent: 0.1,
  maxPostsPerAuthorPerPage: 2,
  pageSize: 30,
  maxResults: 500,
};

/** At least 10x less graph work than DEFAULT (seeds × likers + co-likers × likes). */
export const CHEAP: RankerParams = {
  ...DEFAULT,
  seedMaxLikes: 25,
  likersPerSeedPost: 40,
  maxColikers: 400,
  candidateLikesPerColiker: 8,
};

/**
 * The plain co-like-count baseline of the offline evaluation: the same kernel with
 * every weight flat (no recency, specificity, activity or popularity terms).
 */
export const COLIKE_COUNT: RankerParams = {
  ...DEFAULT,
  // The caps it was defined with (DEFAULT's until 2026-12): tuning DEFAULT must not move the bar it is measured against.
  maxColikers: 500,
  candidateLikesPerColiker: 60,
  seedHalfLifeHours: Number.POSITIVE_INFINITY,
  seedSpecificityExponent: 0,
  colikerOverlapExponent: 1,
  colikerActivityExponent: 0,
  candidateHalfLifeHours: Number.POSITIVE_INFINITY,
  popularityExponent: 0,
};

export const PRESETS = { default: DEFAULT, cheap: CHEAP } as const;
export type PresetName = keyof typeof PRESETS;

/** The graph edges a ranking may touch at most: the measure "10x less work" is about. */
export function workBound(p: RankerParams): number {
  return p.seedMaxLikes * p.likersPerSeedPost + p.maxColikers * p.candidateLikesPerColiker;
}

/** Per-request overrides merged onto a preset, in one place. */
export function withOverrides(base: RankerParams, overrides: Partial<RankerParams>): RankerParams {
  return { ...base, ...overrides };
}
