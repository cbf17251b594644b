/**
 * The offline evaluation's core: for each active user, rank at the cut-off with each
 * method and score the top K against the posts the user liked after it.
 *
 *   recall@K = |top K ∩ relevant| / |relevant|
 *   nDCG@K   = Σ_{i<K, top[i] relevant} 1/log2(i+2)  /  Σ_{i<min(K,|relevant|)} 1/log2(i+2)
 *
 * Both are averaged over users (every user weighs the same, however many likes).
 */
import { type LikeGraph, LikeList, type ReadLimits } from '../../src/feed/graph/like-graph.js';
import type { GraphView } from '../../src/feed/ranker/kernel.js';
import { COLIKE_COUNT, CHEAP, DEFAULT, type RankerParams, workBound } from '../../src/feed/ranker/params.js';
import { rankForUser } from '../../src/feed/ranker/pipeline.js';
import { computePopular } from '../../src/feed/ranker/popular.js';
import { generateDataset, resolveOptions } from '../dataset/generator.js';
import { buildWorld, type EvalWorld, type WorldStats } from './world.js';
import { buildFollows } from '../dataset/model/follows.js';
import { COLD_MAX_LIKES, type ColdStartReport, evaluateColdStart } from './cold-start.js';
import { Rng } from '../dataset/random.js';

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
  /** Eligible users have at least this many live likes before the cut-off... */
  minLikesBefore?: number;
  /** ...and at least this many relevant held-out posts after it. */
  minLikesAfter?: number;
  k?: number;
  /** `approximate` when the total is an estimate. */
  progress?: (phase: string, done: number, total: number, approximate: boolean) => void;
}

export interface MethodResult {
  name: string;
  recall: number;
  ndcg: number;
  msPerRequest: number;
  /** Graph slots touched per request (like-list links walked); popularity does none per request. */
  workPerRequest: number;
  /** The preset's workBound, for the rankers. */
  workBound: number | undefined;
  /** Requests the ranker answered as cold start (served the popular list instead). */
  coldStarts: number;
}

export interface EvalReport {
  /** As run: `communities` is the generator's resolved count. */
  options: Required<Omit<EvalOptions, 'progress'>>;
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
  /** Users with at most COLD_MAX_LIKES live likes, ranked from their follows. */
  coldStart: ColdStartReport;
}

export const METHODS: ReadonlyArray<{ name: string; params: RankerParams | undefined }> = [
  { name: 'default', params: DEFAULT },
  { name: 'cheap', params: CHEAP },
  { name: 'colike', params: COLIKE_COUNT },
  { name: 'popularity', params: undefined },
];

export function runEvaluation(options: EvalOptions): EvalReport {
  const opts = {
    likes: options.likes,
    seed: options.seed,
    cutoffHours: options.cutoffHours,
    maxUsers: options.maxUsers,
    endTimeUs: options.endTimeUs ?? DEFAULT_END_TIME_US,
    communities: options.communities,
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
    ...(opts.communities === undefined ? {} : { communities: opts.communities }),
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

  const methods = METHODS.map(({ name, params }) => {
    const view = new CountingView(world.graph);
    let recall = 0;
    let ndcg = 0;
    let coldStarts = 0;
    let ms = 0;
    users.forEach((user, i) => {
      if (i % 100 === 0) progress(`rank: ${name}`, i, users.length, false);
      const started = performance.now();
      let ranked = params === undefined ? undefined : rankForUser(view, user, params, world.cutoffS);
      if (ranked === undefined) {
        if (params !== undefined) coldStarts++;
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
      recall: recall / n,
      ndcg: ndcg / n,
      msPerRequest: ms / n,
      workPerRequest: view.touched / n,
      workBound: params === undefined ? undefined : workBound(params),
      coldStarts,
    } satisfies MethodResult;
  });

  progress('cold start: follows + rank', 0, 1, false);
  const coldStart = evaluateColdStart(world, buildFollows(datasetOptions), popular, {
    maxLikesBefore: COLD_MAX_LIKES,
    minLikesAfter: opts.minLikesAfter,
    maxUsers: opts.maxUsers,
    seed: opts.seed,
    k: opts.k,
  });

  return {
    options: { ...opts, communities: datasetOptions.communities },
    stats: { ...world.stats, actors: world.actorCount, posts: world.postCount, liveLikesAtCutoff: world.graph.likeCount },
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

/** The graph as the kernel sees it, counting the like-list slots each walk touches. */
export class CountingView implements GraphView {
  touched = 0;

  constructor(private readonly graph: LikeGraph) {}

  readLikesOfActor(actor: number, max: number, out: LikeList, limits?: ReadLimits): number {
    const touched = this.graph.readLikesOfActor(actor, max, out, limits);
    this.touched += touched;
    return touched;
  }

  readPostRowsOfActor(actor: number, max: number, out: LikeList, limits?: ReadLimits): number {
    const touched = this.graph.readPostRowsOfActor(actor, max, out, limits);
    this.touched += touched;
    return touched;
  }

  readLikersOfPost(post: number, max: number, out: LikeList, limits?: ReadLimits): number {
    const touched = this.graph.readLikersOfPost(post, max, out, limits);
    this.touched += touched;
    return touched;
  }

  likesOfPostRow(row: number): number {
    return this.graph.likesOfPostRow(row);
  }

  postIdOfRow(row: number): number {
    return this.graph.postIdOfRow(row);
  }

  likesOfActor(actor: number): number {
    return this.graph.likesOfActor(actor);
  }

  likesOfPost(post: number): number {
    return this.graph.likesOfPost(post);
  }

  isPostLive(post: number): boolean {
    return this.graph.isPostLive(post);
  }

  isActorActive(actor: number): boolean {
    return this.graph.isActorActive(actor);
  }

  postAuthorOf(post: number): number {
    return this.graph.postAuthorOf(post);
  }
}
