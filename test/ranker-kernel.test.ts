import { describe, expect, it } from 'vitest';
import { LikeGraph } from '../src/feed/graph/like-graph.js';
import { candidates, colikers, type ExplainCollector, type GraphView, seeds, topK } from '../src/feed/ranker/kernel.js';
import { CHEAP, COLIKE_COUNT, DEFAULT, PRESETS, type RankerParams, withOverrides, workBound } from '../src/feed/ranker/params.js';
import { diversify, NO_SIGNALS, rankForUser, type UserSignals } from '../src/feed/ranker/pipeline.js';
import { explainRanking } from '../src/feed/ranker/explain.js';
import { computePopular } from '../src/feed/ranker/popular.js';
import { seeded } from '../testkit/random.js';

const NOW = 1_750_000_000;
const HOUR = 3600;

/** The user whose feed is ranked, and co-likers. */
const U = 1;
const V = 2;
const W = 3;
const Z = 4;
/** Seed posts. */
const A = 11;
const B = 12;
const C = 13;

/** [actor, post, hours ago] */
type Like = readonly [number, number, number];

/** Every post is by author 1000 + post unless `authors` says otherwise, so diversify stays out of the way. */
const authorOf = (post: number, authors: ReadonlyMap<number, number>) => authors.get(post) ?? 1000 + post;

/**
 * A graph of these likes, ids given in time order (oldest first, as the database
 * assigns them); every liked post gets its author.
 */
function graphOf(likes: readonly Like[], authors: ReadonlyMap<number, number> = new Map()): LikeGraph {
  const g = new LikeGraph();
  const ordered = [...likes].sort((a, b) => b[2] - a[2]);
  ordered.forEach(([actor, post, hoursAgo], k) => g.addLike(k + 1, actor, post, timeOf(hoursAgo), authorOf(post, authors)));
  return g;
}

const timeOf = (hoursAgo: number) => NOW - Math.round(hoursAgo * HOUR);

function rank(g: GraphView, p: RankerParams, signals: UserSignals = NO_SIGNALS, user = U): number[] {
  const ranked = rankForUser(g, user, p, NOW, signals);
  expect(ranked).toBeDefined();
  return [...ranked!];
}

/** Final scores of the kernel (stages 1-4), before filtering. */
function scores(g: GraphView, p: RankerParams, user = U, explain?: ExplainCollector): Map<number, number> {
  const c = colikers(g, user, seeds(g, user, p, NOW), p, explain);
  const scored = candidates(g, c, p, NOW, explain);
  return new Map([...scored.ids].map((post, k) => [post, scored.weights[k]!]));
}

function expectClose(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
}

/** U has three seeds, A, B and C, liked 30, 20 and 10 hours ago. */
const USER_SEEDS: Like[] = [
  [U, A, 30],
  [U, B, 20],
  [U, C, 10],
];

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => from + k);
}

/** Caps far above anything the random world reaches: these tests are about the formula, not the caps. */
const UNCAPPED: Partial<RankerParams> = { seedMaxLikes: 10_000, likersPerSeedPost: 10_000, maxColikers: 10_000, candidateLikesPerColiker: 10_000 };


/**
 * A random world: 40 actors (U = 1; actor 2 very active), 80 posts by 15 authors,
 * likes spread over the last 100 hours. Tests on it lift the caps (UNCAPPED).
 */
function randomWorld(seed: number): { likes: Like[]; authors: Map<number, number> } {
  const rnd = seeded(seed);
  const likes: Like[] = [];
  for (let actor = 1; actor <= 40; actor++) {
    const n = actor === 2 ? 60 : actor === U ? 12 : 3 + Math.floor(rnd() * 20);
    const posts = new Set<number>();
    while (posts.size < n) posts.add(1 + Math.floor(rnd() * 80));
    for (const post of posts) likes.push([actor, post, Math.round(rnd() * 100 * 60) / 60]);
  }
  const authors = new Map(range(1, 80).map((post) => [post, 200 + (post % 15)]));
  return { likes, authors };
}

/** The header's formula, computed naively from the list of likes (no caps: the world is under them). */
function referenceScores(likes: readonly Like[], p: RankerParams, user = U): Map<number, number> {
  const decay = (ageS: number, halfLifeHours: number) => (Number.isFinite(halfLifeHours) ? 2 ** (-Math.max(0, ageS) / (halfLifeHours * HOUR)) : 1);
  const count = (pick: (l: Like) => boolean) => likes.filter(pick).length;
  const overlap = new Map<number, number>();
  for (const [, seed, hoursAgo] of likes.filter((l) => l[0] === user)) {
    const s = decay(NOW - timeOf(hoursAgo), p.seedHalfLifeHours) / count((l) => l[1] === seed) ** p.seedSpecificityExponent;
    for (const [actor] of likes.filter((l) => l[1] === seed && l[0] !== user)) overlap.set(actor, (overlap.get(actor) ?? 0) + s);
  }
  const score = new Map<number, number>();
  for (const [actor, o] of overlap) {
    const weight = o ** p.colikerOverlapExponent / count((l) => l[0] === actor) ** p.colikerActivityExponent;
    for (const [, post, hoursAgo] of likes.filter((l) => l[0] === actor)) {
      if (timeOf(hoursAgo) < NOW - p.candidateWindowHours * HOUR) continue;
      score.set(post, (score.get(post) ?? 0) + weight * decay(NOW - timeOf(hoursAgo), p.candidateHalfLifeHours));
    }
  }
  return new Map([...score].map(([post, c]) => [post, c / count((l) => l[1] === post) ** p.popularityExponent]));
}

describe('ranker kernel: the order it gives on hand-built graphs', () => {
  it('ranks what a close co-liker liked above a looser one, and a looser one above a very active one', () => {
    const X = 22;
    const Y = 23;
    const Q = 21; // the lowest id: ties would put it first
    const fillers = range(500, 20);
    const g = graphOf([
      ...USER_SEEDS,
      // V liked two of U's seeds, W one, Z one; Z likes everything.
      [V, A, 29],
      [V, B, 19],
      [V, X, 2],
      [W, A, 28],
      [W, Y, 2],
      [Z, A, 27],
      [Z, Q, 2],
      ...fillers.map((post) => [Z, post, 2] as const),
    ]);
    // Uncapped: Z's 21 likes are more than DEFAULT reads of one co-liker, and which of them is a matter of ties.
    const ranked = rank(g, withOverrides(DEFAULT, UNCAPPED));
    expect(ranked.slice(0, 3)).toEqual([X, Y, Q]);
    expect(new Set(ranked)).toEqual(new Set([X, Y, Q, ...fillers]));
    // Without the activity term, W and Z weigh the same and the tie goes to Q's lower id.
    const flat = rank(g, withOverrides(DEFAULT, { ...UNCAPPED, colikerActivityExponent: 0 }));
    expect(flat.indexOf(Q)).toBeLessThan(flat.indexOf(Y));
  });

  /**
   * Each case isolates one term: posts 21 and 22 tie when every term is flat
   * (COLIKE_COUNT; the tie goes to 21, the lower id), and the term alone puts 22 first.
   * `on` turns the term on with a fixed value; `inDefault` says whether DEFAULT has it on.
   */
  const finite = (hours: number) => Number.isFinite(hours);
  const TERM_CASES: Array<{ term: string; on: Partial<RankerParams>; inDefault: boolean; likes: Like[] }> = [
    {
      term: 'seed recency: a newer seed counts more',
      on: { seedHalfLifeHours: 72 },
      inDefault: finite(DEFAULT.seedHalfLifeHours),
      likes: [
        [U, A, 100], // old seed, co-liked by V
        [U, B, 1], // new seed, co-liked by W
        [U, C, 50],
        [V, A, 99],
        [V, 21, 1],
        [W, B, 0.9],
        [W, 22, 1],
      ],
    },
    {
      term: 'seed specificity: a co-like on a niche post counts more than on a hugely popular one',
      on: { seedSpecificityExponent: 0.5 },
      inDefault: DEFAULT.seedSpecificityExponent > 0,
      likes: [
        [U, A, 5], // niche: U and V
        [U, B, 5], // huge: U, W and 50 others
        [U, C, 5],
        [V, A, 4],
        [V, 22, 1],
        [W, B, 4],
        [W, 21, 1],
        ...range(100, 50).map((actor) => [actor, B, 6] as const),
      ],
    },
    {
      term: 'co-liker overlap: two co-likers who share one seed each outweigh one who shares both',
      on: { colikerOverlapExponent: 0.5 },
      inDefault: DEFAULT.colikerOverlapExponent < 1,
      likes: [...USER_SEEDS, [V, A, 29], [V, B, 19], [V, 21, 1], [W, A, 28], [W, 22, 1], [Z, B, 18], [Z, 22, 1]],
    },
    {
      term: 'co-liker activity: a co-liker who likes everything counts less',
      on: { colikerActivityExponent: 0.5 },
      inDefault: DEFAULT.colikerActivityExponent > 0,
      likes: [
        ...USER_SEEDS,
        [V, A, 5],
        [V, 22, 1],
        [Z, A, 5],
        [Z, 21, 1],
        ...range(500, 30).map((post) => [Z, post, 60] as const), // outside the candidate window, still activity
      ],
    },
    {
      term: 'candidate time decay: a newer like of a candidate counts more',
      on: { candidateHalfLifeHours: 12 },
      inDefault: finite(DEFAULT.candidateHalfLifeHours),
      likes: [...USER_SEEDS, [V, A, 29], [V, 21, 20], [V, 22, 1]],
    },
    {
      term: 'popularity: a candidate everyone likes is penalised',
      on: { popularityExponent: 0.3 },
      inDefault: DEFAULT.popularityExponent > 0,
      likes: [
        ...USER_SEEDS,
        [V, A, 29],
        [V, 21, 2],
        [V, 22, 2],
        ...range(100, 30).map((actor) => [actor, 21, 3] as const), // not co-likers: they liked no seed
      ],
    },
  ];

  it.each(TERM_CASES)('$term', ({ on, inDefault, likes }) => {
    const g = graphOf(likes);
    const flat = scores(g, COLIKE_COUNT);
    expect(flat.get(21)).toBeDefined();
    expect(flat.get(21)).toBe(flat.get(22));
    expect(rank(g, COLIKE_COUNT).slice(0, 2)).toEqual([21, 22]);

    const withTerm = withOverrides(COLIKE_COUNT, on);
    expect(scores(g, withTerm).get(22)!).toBeGreaterThan(scores(g, withTerm).get(21)!);
    expect(rank(g, withTerm).slice(0, 2)).toEqual([22, 21]);
    // The full DEFAULT agrees when it uses the term: the other terms are equal between the two.
    if (inDefault) expect(rank(g, DEFAULT).slice(0, 2)).toEqual([22, 21]);
  });

  it('never proposes a candidate liked only before the candidate window', () => {
    const OLD = 21;
    const g = graphOf([...USER_SEEDS, [V, OLD, 49], [V, A, 29], [V, 22, 1], [W, A, 28], [W, OLD, 48.5]]);
    // V liked OLD 49 h ago: outside the 48 h window. W liked it 48.5 h ago: outside too.
    for (const p of [DEFAULT, COLIKE_COUNT, CHEAP]) {
      expect(scores(g, p).has(OLD)).toBe(false);
      expect(rank(g, p)).toEqual([22]);
    }
    const wider = withOverrides(DEFAULT, { candidateWindowHours: 72 });
    expect(rank(g, wider)).toEqual([22, OLD]);
    // Inside the window for one co-liker only: only that like counts.
    const g2 = graphOf([...USER_SEEDS, [V, A, 29], [V, OLD, 49], [W, A, 28], [W, OLD, 47]]);
    expect(scores(g2, COLIKE_COUNT).get(OLD)).toBe(1);
  });

  it('filters out what the user liked or wrote, deleted posts, inactive authors, and what the signals exclude', () => {
    const OWN = 30;
    const GONE = 31;
    const AUTHOR_INACTIVE = 32;
    const SEEN = 33;
    const LESS = 34;
    const KEEP = 35;
    const VIA_INACTIVE_COLIKER = 36;
    const INACTIVE_COLIKER = 5;
    const authors = new Map([
      [OWN, U],
      [AUTHOR_INACTIVE, 900],
      [LESS, 901],
    ]);
    const g = graphOf(
      [
        ...USER_SEEDS,
        [V, A, 29],
        [V, B, 19],
        [V, C, 9],
        ...[OWN, GONE, AUTHOR_INACTIVE, SEEN, LESS, KEEP].map((post) => [V, post, 1] as const),
        [INACTIVE_COLIKER, A, 5],
        [INACTIVE_COLIKER, VIA_INACTIVE_COLIKER, 1],
      ],
      authors,
    );
    g.markPostGone(GONE);
    g.setActorActive(900, false);
    g.setActorActive(INACTIVE_COLIKER, false);

    // The kernel scores them all (the seeds too); the filter stage drops them.
    expect(new Set(scores(g, DEFAULT).keys())).toEqual(new Set([A, B, C, OWN, GONE, AUTHOR_INACTIVE, SEEN, LESS, KEEP]));
    expect(new Set(rank(g, DEFAULT))).toEqual(new Set([SEEN, LESS, KEEP]));
    const signals: UserSignals = { seenPosts: new Set([SEEN]), lessAuthors: new Set([901]), morePosts: new Set() };
    expect(rank(g, DEFAULT, signals)).toEqual([KEEP]);

    // An author who comes back is shown again.
    g.setActorActive(900, true);
    expect(new Set(rank(g, DEFAULT, signals))).toEqual(new Set([AUTHOR_INACTIVE, KEEP]));
  });

  it('gives undefined below minSeedLikes (cold start); "show more" posts count as seeds and are not shown back', () => {
    const X = 21;
    const MORE = 14;
    const likes: Like[] = [
      [U, A, 30],
      [U, B, 20],
      [V, A, 29],
      [V, MORE, 3],
      [V, X, 2],
    ];
    const g = graphOf(likes);
    expect(rankForUser(g, U, DEFAULT, NOW)).toBeUndefined();
    expect(rankForUser(g, 77, DEFAULT, NOW)).toBeUndefined(); // no likes at all
    expect(rankForUser(g, U, withOverrides(DEFAULT, { minSeedLikes: 2 }), NOW)).toBeDefined();
    expect(rankForUser(graphOf([...likes, [U, C, 10]]), U, DEFAULT, NOW)).toBeDefined();

    const more: UserSignals = { ...NO_SIGNALS, morePosts: new Set([MORE]) };
    expect(rank(g, DEFAULT, more)).toEqual([X]);
  });

  it('COLIKE_COUNT ranks by plain co-like count: the sum over co-likers of the seeds they share', () => {
    const { likes, authors } = randomWorld(7);
    const g = graphOf(likes, authors);
    const p = withOverrides(COLIKE_COUNT, UNCAPPED);
    const got = scores(g, p);
    // The count, straight from the likes.
    const seedsOfU = new Set(likes.filter((l) => l[0] === U).map((l) => l[1]));
    const shared = new Map<number, number>();
    for (const [actor, post] of likes) if (actor !== U && seedsOfU.has(post)) shared.set(actor, (shared.get(actor) ?? 0) + 1);
    const expected = new Map<number, number>();
    for (const [actor, post, hoursAgo] of likes) {
      if (!shared.has(actor) || hoursAgo > p.candidateWindowHours) continue;
      expected.set(post, (expected.get(post) ?? 0) + shared.get(actor)!);
    }
    expect(got).toEqual(expected);
    expect([...got.values()].every(Number.isInteger)).toBe(true);
    // Highest count first (with diversify out of the way).
    const ranked = rank(g, withOverrides(p, { maxPostsPerAuthorPerPage: 1000 }));
    expect(ranked.length).toBeGreaterThan(10);
    for (let k = 1; k < ranked.length; k++) expect(got.get(ranked[k - 1]!)!).toBeGreaterThanOrEqual(got.get(ranked[k]!)!);
  });

  it.each([1, 2, 3])('computes the header’s formula exactly (random world %i, DEFAULT’s weights)', (seed) => {
    const { likes, authors } = randomWorld(seed);
    const g = graphOf(likes, authors);
    const p = withOverrides(DEFAULT, UNCAPPED);
    const got = scores(g, p);
    const expected = referenceScores(likes, p);
    expect(new Set(got.keys())).toEqual(new Set(expected.keys()));
    for (const [post, score] of expected) expectClose(got.get(post)!, score);
    // And the candidates come out best first.
    const weights = [...got.values()];
    for (let k = 1; k < weights.length; k++) expect(weights[k - 1]!).toBeGreaterThanOrEqual(weights[k]!);
  });

  it('honours the caps: seeds, likers per seed post, co-likers kept, likes per co-liker', () => {
    const g = graphOf([
      ...range(100, 10).map((post, k) => [U, post, 20 - k] as const), // U's seeds, 100 the oldest
      ...range(10, 8).map((actor, k) => [actor, 109, 10 - k * 0.5] as const), // 8 likers of U's newest seed; 17 the newest
      ...range(10, 8).flatMap((actor) => range(200, 6).map((post, k) => [actor, post, 5 - k * 0.1] as const)),
    ]);
    const p = withOverrides(DEFAULT, { seedMaxLikes: 3, likersPerSeedPost: 4, maxColikers: 2, candidateLikesPerColiker: 2 });
    const s = seeds(g, U, p, NOW);
    expect([...s.posts]).toEqual([109, 108, 107]);
    const c = colikers(g, U, s, p);
    expect(c.ids).toHaveLength(2);
    // Only the 4 newest likers of 109 (14..17) were looked at; all weigh the same, lower ids win the tie.
    expect([...c.ids]).toEqual([14, 15]);
    const cand = candidates(g, c, p, NOW);
    // Each co-liker's 2 newest likes: 205 and 204 (liked 4.5 and 4.6 h ago).
    expect(new Set(cand.ids)).toEqual(new Set([205, 204]));
  });

  it('never touches more than workBound(p) likes beyond the seeds', () => {
    const rnd = seeded(99);
    const likes: Like[] = [];
    for (let k = 0; k < 40_000; k++) likes.push([1 + Math.floor(rnd() ** 2 * 600), 1 + Math.floor(rnd() ** 3 * 3000), rnd() * 90]);
    // Unique (actor, post) pairs.
    const unique = [...new Map(likes.map((l) => [`${l[0]}/${l[1]}`, l])).values()];
    const g = graphOf(unique);
    for (const p of [DEFAULT, CHEAP]) {
      let visits = 0;
      const counting: GraphView = {
        readLikesOfActor: (actor, max, out, limits) => {
          g.readLikesOfActor(actor, max, out, limits);
          visits += out.length;
          return out.length;
        },
        readPostRowsOfActor: (actor, max, out, limits) => {
          g.readPostRowsOfActor(actor, max, out, limits);
          visits += out.length;
          return out.length;
        },
        readLikersOfPost: (post, max, out, limits) => {
          g.readLikersOfPost(post, max, out, limits);
          visits += out.length;
          return out.length;
        },
        likesOfPostRow: (row) => g.likesOfPostRow(row),
        postIdOfRow: (row) => g.postIdOfRow(row),
        likesOfActor: (a) => g.likesOfActor(a),
        likesOfPost: (q) => g.likesOfPost(q),
        isPostLive: (q) => g.isPostLive(q),
        isActorActive: (a) => g.isActorActive(a),
        postAuthorOf: (q) => g.postAuthorOf(q),
      };
      const user = 1; // the most active actor
      const ranked = rankForUser(counting, user, p, NOW);
      expect(ranked).toBeDefined();
      expect(visits).toBeLessThanOrEqual(p.seedMaxLikes + workBound(p));
      expect(visits).toBeGreaterThan(0);
    }
  });
});

describe('ExplainCollector', () => {
  it('receives contributions that sum to the kernel’s own weights and scores', () => {
    const { likes, authors } = randomWorld(5);
    const g = graphOf(likes, authors);
    const overlap = new Map<number, number>();
    const candidate = new Map<number, number>();
    const viaColikers = new Set<number>();
    const explain: ExplainCollector = {
      coliker: (actor, _seed, contribution) => overlap.set(actor, (overlap.get(actor) ?? 0) + contribution),
      candidate: (post, via, contribution) => {
        viaColikers.add(via);
        candidate.set(post, (candidate.get(post) ?? 0) + contribution);
      },
    };
    const p = withOverrides(DEFAULT, UNCAPPED);
    const s = seeds(g, U, p, NOW);
    const c = colikers(g, U, s, p, explain);
    const scored = candidates(g, c, p, NOW, explain);

    // Co-liker weights: w(u) = (Σ contributions)^overlap / likes(u)^activity.
    expect(c.ids.length).toBeGreaterThan(5);
    c.ids.forEach((actor, k) => expectClose(overlap.get(actor)! ** p.colikerOverlapExponent / g.likesOfActor(actor) ** p.colikerActivityExponent, c.weights[k]!));
    // Candidate scores: f(q) = (Σ contributions) / likes(q)^popularity.
    expect(new Set(candidate.keys())).toEqual(new Set(scored.ids));
    scored.ids.forEach((post, k) => expectClose(candidate.get(post)! / g.likesOfPost(post) ** p.popularityExponent, scored.weights[k]!));
    expect([...viaColikers].every((actor) => c.ids.includes(actor))).toBe(true);

    // Under COLIKE_COUNT the sums are the scores themselves.
    candidate.clear();
    const flat = scores(g, withOverrides(COLIKE_COUNT, UNCAPPED), U, { coliker: () => undefined, candidate: (post, _via, x) => candidate.set(post, (candidate.get(post) ?? 0) + x) });
    for (const [post, score] of flat) expectClose(candidate.get(post)!, score);
  });

  it('does not change the ranking it explains', () => {
    const { likes, authors } = randomWorld(6);
    const g = graphOf(likes, authors);
    let calls = 0;
    const explain: ExplainCollector = { coliker: () => void calls++, candidate: () => void calls++ };
    const plain = rankForUser(g, U, DEFAULT, NOW);
    const explained = rankForUser(g, U, DEFAULT, NOW, NO_SIGNALS, explain);
    expect(explained).toEqual(plain);
    expect(calls).toBeGreaterThan(0);
  });

  it('explains a ranking by the co-likers who carried each post and the seeds they share', () => {
    // V shares seeds A and B with U, W only A; V liked P, both liked Q; Z shares nothing.
    const P = 21;
    const Q = 22;
    const g = graphOf([
      [U, A, 5], [U, B, 4], [U, C, 3],
      [V, A, 10], [V, B, 9], [V, P, 2], [V, Q, 2],
      [W, A, 8], [W, Q, 1],
      [Z, 31, 1],
    ]);
    const reasons = explainRanking(g, { actor: U, followed: undefined, signals: NO_SIGNALS }, DEFAULT, NOW, LIMITS)?.posts;
    expect(reasons?.map((r) => r.post)).toEqual([...rankForUser(g, U, DEFAULT, NOW)!]);
    const byPost = new Map(reasons!.map((r) => [r.post, r.colikers]));
    expect(byPost.get(P)?.map((c) => c.actor)).toEqual([V]);
    expect(new Set(byPost.get(Q)?.map((c) => c.actor))).toEqual(new Set([V, W]));
    expect(new Set(byPost.get(P)![0]!.sharedSeeds)).toEqual(new Set([A, B]));
    expect(byPost.get(Q)!.find((c) => c.actor === W)!.sharedSeeds).toEqual([A]);
    // Cold start: no explanation, as no ranking.
    expect(explainRanking(g, { actor: Z, followed: undefined, signals: NO_SIGNALS }, DEFAULT, NOW, LIMITS)).toBeUndefined();
  });

  it('explains a ranking from follows: the followed account is the co-liker, marked followed', () => {
    // A user the database never saw follows V; V liked P; W, who liked what V liked, liked Q.
    const P = 21;
    const Q = 22;
    const g = graphOf([
      [V, A, 10], [V, P, 2],
      [W, A, 8], [W, Q, 1],
    ]);
    const explained = explainRanking(g, { actor: undefined, followed: [V], signals: NO_SIGNALS }, DEFAULT, NOW, LIMITS);
    expect(explained?.fromFollows).toBe(true);
    const byPost = new Map(explained!.posts.map((r) => [r.post, r.colikers]));
    expect(byPost.get(P)).toEqual([expect.objectContaining({ actor: V, followed: true })]);
    // The second hop: W is not followed, and what ties W in is a post V liked.
    expect(byPost.get(Q)).toEqual([expect.objectContaining({ actor: W, followed: false, sharedSeeds: [A] })]);
    // The same graph, nobody followed: nothing to rank, so the popular list (no explanation).
    expect(explainRanking(g, { actor: undefined, followed: [], signals: NO_SIGNALS }, DEFAULT, NOW, LIMITS)).toBeUndefined();
  });
});

const LIMITS = { posts: 10, colikersPerPost: 3, seedsPerColiker: 3 };

describe('diversify', () => {
  /** A graph where post n is by `authors[n]` (each liked once: the graph holds liked posts). */
  const withAuthors = (authors: Record<number, number>): LikeGraph => {
    const g = new LikeGraph();
    Object.entries(authors).forEach(([post, author], k) => g.addLike(k + 1, 1, Number(post), NOW, author));
    return g;
  };
  const params = (o: Partial<RankerParams>) => withOverrides(DEFAULT, o);

  it('puts at most maxPostsPerAuthorPerPage of an author on a page; the rest wait for the next page, best first', () => {
    // Posts 1-4 by author a (100), 5-6 by b, 7-8 by c, 9 by d.
    const g = withAuthors({ 1: 100, 2: 100, 3: 100, 4: 100, 5: 200, 6: 200, 7: 300, 8: 300, 9: 400 });
    const out = [...diversify(g, Int32Array.from(range(1, 9)), params({ pageSize: 4, maxPostsPerAuthorPerPage: 2 }))];
    expect(out).toEqual([1, 2, 5, 6, 3, 4, 7, 8, 9]);
  });

  it('loses nothing: when only one author is left the cap gives way', () => {
    const g = withAuthors({ 1: 100, 2: 100, 3: 100, 4: 100, 5: 100 });
    const out = [...diversify(g, Int32Array.from(range(1, 5)), params({ pageSize: 4, maxPostsPerAuthorPerPage: 2 }))];
    expect(out).toEqual([1, 2, 3, 4, 5]);
    expect([...diversify(g, new Int32Array(0), DEFAULT)]).toEqual([]);
  });

  it('never returns more than maxResults', () => {
    // 1-3 by a, then singletons: at the second page's start two waiting posts and a new one compete for the last slot.
    const g = withAuthors({ 1: 100, 2: 100, 3: 100, 4: 200, 5: 300, 6: 400, 7: 500 });
    const p = params({ pageSize: 3, maxPostsPerAuthorPerPage: 1, maxResults: 4 });
    const out = [...diversify(g, Int32Array.from(range(1, 7)), p)];
    expect(out).toEqual([1, 4, 5, 2]);
  });

  it.each([1, 2, 3, 4, 5])('keeps every page under the cap, loses nothing, keeps each author’s order (random list %i)', (seed) => {
    const rnd = seeded(seed);
    // 60 posts of 6 authors, skewed, then 120 posts of distinct authors to mix in.
    const authors: Record<number, number> = {};
    for (let post = 1; post <= 60; post++) authors[post] = 100 + Math.floor(rnd() ** 2 * 6);
    for (let post = 61; post <= 180; post++) authors[post] = 1000 + post;
    const g = withAuthors(authors);
    const ranked = Int32Array.from(range(1, 180));
    const p = params({ pageSize: 10, maxPostsPerAuthorPerPage: 2, maxResults: 1000 });
    const out = [...diversify(g, ranked, p)];

    expect([...out].sort((a, b) => a - b)).toEqual([...ranked]);
    for (let page = 0; page < out.length; page += p.pageSize) {
      const counts = new Map<number, number>();
      for (const post of out.slice(page, page + p.pageSize)) counts.set(authors[post]!, (counts.get(authors[post]!) ?? 0) + 1);
      expect(Math.max(...counts.values())).toBeLessThanOrEqual(p.maxPostsPerAuthorPerPage);
    }
    for (const author of new Set(Object.values(authors))) {
      const mine = out.filter((post) => authors[post] === author);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
    // A smaller maxResults gives the same list, cut.
    for (const maxResults of [1, 7, 10, 25, 59]) {
      expect([...diversify(g, ranked, { ...p, maxResults })]).toEqual(out.slice(0, maxResults));
    }
  });
});

describe('popular', () => {
  it('ranks live posts by time-decayed like count over the newest likes, diversified', () => {
    const likes: Like[] = [
      ...range(100, 5).map((actor) => [actor, 1, 1] as const), // 5 fresh likes
      ...range(100, 8).map((actor) => [actor, 2, 30] as const), // 8 likes, 30 h old
      ...range(100, 3).map((actor) => [actor, 3, 0.5] as const),
      ...range(100, 9).map((actor) => [actor, 4, 0.5] as const), // gone
      ...range(100, 9).map((actor) => [actor, 5, 0.5] as const), // by an inactive author
    ];
    const g = graphOf(likes, new Map([[5, 900]]));
    g.markPostGone(4);
    g.setActorActive(900, false);
    expect([...computePopular(g, DEFAULT, NOW)]).toEqual([1, 3, 2]);
    // Only the newest scanLikes likes are read: the 9 + 9 + 3 newest cover posts 3, 4 and 5.
    expect([...computePopular(g, DEFAULT, NOW, { scanLikes: 21, halfLifeHours: 6 })]).toEqual([3]);
  });
});

describe('presets', () => {
  it('CHEAP does at least 10x less graph work than DEFAULT, and ranks the same way otherwise', () => {
    expect(workBound(DEFAULT)).toBeGreaterThanOrEqual(10 * workBound(CHEAP));
    expect(PRESETS).toEqual({ default: DEFAULT, cheap: CHEAP });
    const work = new Set(['seedMaxLikes', 'likersPerSeedPost', 'maxColikers', 'candidateLikesPerColiker']);
    for (const key of Object.keys(DEFAULT) as Array<keyof RankerParams>) {
      if (work.has(key)) expect(CHEAP[key]).toBeGreaterThan(0);
      else expect(CHEAP[key]).toBe(DEFAULT[key]);
    }
  });

  it('COLIKE_COUNT is DEFAULT with every weight flat, at the caps it was defined with', () => {
    // The weights are the exponents (flat at 0; the overlap's at 1, counted as is) and the half-lives (flat at infinity); every other knob stays.
    const keys = Object.keys(DEFAULT) as Array<keyof RankerParams>;
    expect(Object.keys(COLIKE_COUNT).sort()).toEqual([...keys].sort());
    const definedWith: Partial<RankerParams> = { maxColikers: 500, candidateLikesPerColiker: 60 };
    for (const key of keys) {
      if (key in definedWith) expect(COLIKE_COUNT[key], key).toBe(definedWith[key]);
      else if (key === 'colikerOverlapExponent') expect(COLIKE_COUNT[key], key).toBe(1);
      else if (key.endsWith('Exponent')) expect(COLIKE_COUNT[key], key).toBe(0);
      else if (key.endsWith('HalfLifeHours')) expect(COLIKE_COUNT[key], key).toBe(Number.POSITIVE_INFINITY);
      else expect(COLIKE_COUNT[key], key).toBe(DEFAULT[key]);
    }
    expect(COLIKE_COUNT).not.toEqual(DEFAULT); // DEFAULT's own weights are not flat
  });

  it('topK orders by weight, ties by lower id, and cuts at k', () => {
    const t = topK(
      [
        [5, 1],
        [3, 2],
        [4, 1],
        [9, 0.5],
      ],
      3,
    );
    expect([...t.ids]).toEqual([3, 4, 5]);
    expect([...t.weights]).toEqual([2, 1, 1]);
  });
});

describe('what the user already liked, beyond the seeds', () => {
  it('never recommends a post the user liked inside the candidate window, even past seedMaxLikes', () => {
    const p = withOverrides(DEFAULT, { seedMaxLikes: 3, minSeedLikes: 1 });
    // U's newest three likes are the seeds; C (older, still in the window) is not a seed.
    const g = graphOf([
      [U, C, 30],
      [U, A, 3],
      [U, B, 2],
      [U, 14, 1],
      [V, A, 2.5],
      [V, C, 1.5],
      [V, 21, 0.5],
    ]);
    const ranked = rank(g, p);
    expect(ranked).toContain(21);
    expect(ranked).not.toContain(C);
  });

  it('caps "show more" seeds at a quarter of seedMaxLikes', () => {
    const p = withOverrides(DEFAULT, { seedMaxLikes: 4, minSeedLikes: 1 });
    const g = graphOf([
      [U, A, 1],
      ...Array.from({ length: 10 }, (_, k) => [V, 100 + k, 2] as const),
      [V, 21, 0.5],
    ]);
    const more = new Set(Array.from({ length: 10 }, (_, k) => 100 + k));
    const explainSeeds = new Set<number>();
    rankForUser(g, U, p, NOW, { ...NO_SIGNALS, morePosts: more }, {
      coliker: (_actor, viaSeedPost) => explainSeeds.add(viaSeedPost),
      candidate: () => {},
    });
    // A plus one "show more" post (4 / 4) reach co-likers, not all ten.
    expect([...explainSeeds].filter((post) => more.has(post))).toHaveLength(1);
  });
});
