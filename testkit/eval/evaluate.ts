/**
 * The offline evaluation's core: for each active user, rank at the cut-off with each
 * method and score the top K against the posts the user liked after it.
 *
 *   recall@K = |top K ∩ relevant| / |relevant|
 *   nDCG@K   = Σ_{i<K, top[i] relevant} 1/log2(i+2)  /  Σ_{i<min(K,|relevant|)} 1/log2(i+2)
 *
 * Both are averaged over users (every user weighs the same, however many likes).
 */
import { type LikeGraph, LikeList } from '../../src/feed/graph/like-graph.js';
import { DEFAULT, workBound } from '../../src/feed/ranker/params.js';
import { computePopular } from '../../src/feed/ranker/popular.js';
import { generateDataset, resolveOptions } from '../dataset/generator.js';
import { buildFollows } from '../dataset/model/follows.js';
import { COLD_MAX_LIKES, type ColdStartReport, evaluateColdStart } from './cold-start.js';
import { Rng } from '../dataset/random.js';
import { CountingView } from './counting-view.js';
import { type EvalMethod, METHODS } from './methods.js';
import { buildWorld, type EvalWorld, type WorldStats } from './world.js';

export const DEFAULT_END_TIME_US = 1_750_000_000_000_000; // 2025-06-15T15:06:40Z, fixed for reproducible runs

export interface EvalOptions {
  likes: number;
  seed: number;
  /** The held-out window: the last this many hours of the stream. */
  cutoffHours: number;
  /** Users evaluated at most (a seeded sample of the eligible ones). */
  maxUsers: number;
  endTimeUs?: number;
  /** The generator's community count; its default is one per 1,000 users (users = likes / 50). */
  communities?: number;
  /** The generator's taste sparsity and freshness scale (see DatasetOptions); its defaults otherwise. */
  inCommunityLikeShare?: number;
  freshDecayHours?: number;
  /** Eligible users have at least this many live likes before the cut-off... */
  minLikesBefore?: number;
  /** ...and at least this many relevant held-out posts after it. */
  minLikesAfter?: number;
  k?: number;
  /** `approximate` when the total is an estimate. */
  progress?: (phase: string, done: number, total: number, approximate: boolean) => void;
  /** The methods compared (METHODS by default): parameter variants, when tuning. */
  methods?: readonly EvalMethod[];
  /** Whether the cold-start slice runs (it does by default). */
  coldStart?: boolean;
}

export interface MethodResult {
  name: string;
  /** One of the references the best reference is picked from. */
  reference: boolean;
  recall: number;
  ndcg: number;
  msPerRequest: number;
  /** Graph slots touched per request (like-list links walked); undefined for popularity, which does none per request. */
  workPerRequest: number | undefined;
  /** The preset's workBound, for the rankers. */
  workBound: number | undefined;
  /** Requests the ranker answered as cold start (served the popular list instead). */
  coldStarts: number;
}

export interface EvalReport {
  /** As run: the generator's knobs as it resolved them. */
  options: Required<Omit<EvalOptions, 'progress' | 'methods' | 'coldStart'>>;
  stats: WorldStats & { actors: number; posts: number; liveLikesAtCutoff: number };
  eligibleUsers: number;
  evaluatedUsers: number;
  /** Relevant held-out posts over the evaluated users. */
  relevantPosts: number;
  /** Of those, posts with at least one live like in the graph at the cut-off: the most a co-like ranker can reach. */
  reachablePosts: number;
  popularListLength: number;
  popularComputeMs: number;
  methods: MethodResult[];
  /** Users with at most COLD_MAX_LIKES live likes, ranked from their follows; undefined when not run. */
  coldStart: ColdStartReport | undefined;
}

export function runEvaluation(options: EvalOptions): EvalReport {
  const opts = {
    likes: options.likes,
    seed: options.seed,
    cutoffHours: options.cutoffHours,
    maxUsers: options.maxUsers,
    endTimeUs: options.endTimeUs ?? DEFAULT_END_TIME_US,
    communities: options.communities,
    inCommunityLikeShare: options.inCommunityLikeShare,
    freshDecayHours: options.freshDecayHours,
    minLikesBefore: options.minLikesBefore ?? 5,
    minLikesAfter: options.minLikesAfter ?? 3,
    k: options.k ?? 50,
  };
  const progress = options.progress ?? (() => {});
  const cutoffUs = opts.endTimeUs - Math.round(opts.cutoffHours * 3600e6);
  // Lines are about 1.2 per like (posts, reposts, deletes, malformed).
  const expectedLines = Math.round(opts.likes * 1.22);
  const datasetOptions = resolveOptions({
    seed: opts.seed,
    likes: opts.likes,
    endTimeUs: opts.endTimeUs,
    ...definedOnly({ communities: opts.communities, inCommunityLikeShare: opts.inCommunityLikeShare, freshDecayHours: opts.freshDecayHours }),
  });
  const dataset = generateDataset(datasetOptions);
  const world = buildWorld(dataset, cutoffUs, (n) => progress('generate + parse + build graph', n, expectedLines, true));
  const eligible = eligibleUsers(world, opts.minLikesBefore, opts.minLikesAfter);
  const users = sampleUsers(eligible, opts.maxUsers, opts.seed);

  const popularStarted = performance.now();
  const popular = computePopular(world.graph, DEFAULT, world.cutoffS);
  const popularComputeMs = performance.now() - popularStarted;

  let relevantPosts = 0;
  let reachablePosts = 0;
  for (const user of users) {
    for (const post of world.heldOut.get(user)!) {
      relevantPosts++;
      if (world.graph.likesOfPost(post) > 0) reachablePosts++;
    }
  }

  const methods = (options.methods ?? METHODS).map(({ name, reference, params, rank }) => {
    const view = new CountingView(world.graph);
    let recall = 0;
    let ndcg = 0;
    let coldStarts = 0;
    let ms = 0;
    users.forEach((user, i) => {
      if (i % 100 === 0) progress(`rank: ${name}`, i, users.length, false);
      const started = performance.now();
      let ranked = rank?.(view, user, world.cutoffS, opts.k, opts.seed);
      if (ranked === undefined) {
        if (rank !== undefined) coldStarts++;
        ranked = popularFor(world.graph, user, popular);
      }
      ms += performance.now() - started;
      const scores = score(ranked, world.heldOut.get(user)!, opts.k);
      recall += scores.recall;
      ndcg += scores.ndcg;
    });
    const n = Math.max(1, users.length);
    return {
      name,
      reference,
      recall: recall / n,
      ndcg: ndcg / n,
      msPerRequest: ms / n,
      workPerRequest: rank === undefined ? undefined : view.touched / n,
      workBound: params === undefined ? undefined : workBound(params),
      coldStarts,
    } satisfies MethodResult;
  });

  // Before the cold-start slice, which takes likes out of the graph.
  const liveLikesAtCutoff = world.graph.likeCount;
  progress('cold start: follows + rank', 0, 1, false);
  const coldStart =
    options.coldStart === false
      ? undefined
      : evaluateColdStart(world, buildFollows(datasetOptions), popular, {
    maxLikesBefore: COLD_MAX_LIKES,
    minLikesAfter: opts.minLikesAfter,
    maxUsers: opts.maxUsers,
    seed: opts.seed,
    k: opts.k,
  });

  return {
    options: {
      ...opts,
      communities: datasetOptions.communities,
      inCommunityLikeShare: datasetOptions.inCommunityLikeShare,
      freshDecayHours: datasetOptions.freshDecayHours,
    },
    stats: { ...world.stats, actors: world.actorCount, posts: world.postCount, liveLikesAtCutoff },
    eligibleUsers: eligible.length,
    evaluatedUsers: users.length,
    relevantPosts,
    reachablePosts,
    popularListLength: popular.length,
    popularComputeMs,
    methods,
    coldStart,
  };
}

/** The options given a value: the generator's defaults stand for the rest. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export interface ReferenceComparison {
  /** The reference with the highest recall (ties: the first listed). */
  best: MethodResult;
  /** Recall of the default and the cheap preset over the best reference's. */
  ratioDefaultBest: number;
  ratioCheapBest: number;
}

/** The rankers held against the strongest reference: the targets are default ≥ 1.10, cheap ≥ 1.00. */
export function compareToReferences(methods: readonly MethodResult[]): ReferenceComparison {
  const references = methods.filter((m) => m.reference);
  const named = (name: string) => methods.find((m) => m.name === name)!;
  if (references.length === 0) throw new Error('compare to references: no reference among the methods');
  const best = references.reduce((a, b) => (b.recall > a.recall ? b : a));
  const over = (m: MethodResult) => (best.recall > 0 ? m.recall / best.recall : Number.NaN);
  return { best, ratioDefaultBest: over(named('default')), ratioCheapBest: over(named('cheap')) };
}

/** Active users: enough live likes before the cut-off to seed a ranking, enough after it to measure one. */
export function eligibleUsers(world: EvalWorld, minBefore: number, minAfter: number): number[] {
  const users: number[] = [];
  for (const [user, posts] of world.heldOut) {
    if (posts.size >= minAfter && world.graph.likesOfActor(user) >= minBefore && world.graph.isActorActive(user)) users.push(user);
  }
  return users.sort((a, b) => a - b);
}

/** A seeded uniform sample (partial Fisher–Yates), so a cap does not favour early, busy users. */
export function sampleUsers(users: number[], max: number, seed: number): number[] {
  const out = [...users];
  if (out.length <= max) return out;
  const rng = new Rng(seed);
  for (let i = 0; i < max; i++) {
    const j = i + rng.below(out.length - i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.slice(0, max).sort((a, b) => a - b);
}

/**
 * The popular list without the posts the user already liked: a slightly stronger
 * baseline than the list as served (which is the same for everyone).
 */
export function popularFor(graph: LikeGraph, user: number, popular: Float64Array): Float64Array {
  const likes = new LikeList();
  graph.readLikesOfActor(user, Number.POSITIVE_INFINITY, likes);
  const liked = new Set(likes.ids.subarray(0, likes.length));
  return popular.filter((post) => !liked.has(post));
}

export function score(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): { recall: number; ndcg: number } {
  if (relevant.size === 0) return { recall: 0, ndcg: 0 };
  let hits = 0;
  let dcg = 0;
  const top = Math.min(k, ranked.length);
  for (let i = 0; i < top; i++) {
    if (relevant.has(ranked[i]!)) {
      hits++;
      dcg += 1 / Math.log2(i + 2);
    }
  }
  let idcg = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) idcg += 1 / Math.log2(i + 2);
  return { recall: hits / relevant.size, ndcg: dcg / idcg };
}
