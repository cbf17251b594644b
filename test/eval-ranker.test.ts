import { describe, expect, it } from 'vitest';
import { LikeList } from '../src/feed/graph/like-graph.js';
import { generateDataset } from '../testkit/dataset/generator.js';
import { CountingView } from '../testkit/eval/counting-view.js';
import {
  compareToReferences,
  DEFAULT_END_TIME_US,
  eligibleUsers,
  type EvalReport,
  type MethodResult,
  runEvaluation,
  sampleUsers,
  score,
} from '../testkit/eval/evaluate.js';
import { itemKnn } from '../testkit/eval/references/item-knn.js';
import { randomWalk } from '../testkit/eval/references/random-walk.js';
import { recencyColike } from '../testkit/eval/references/recency-colike.js';
import { buildWorld } from '../testkit/eval/world.js';
import { METHODS, variantMethods } from '../testkit/eval/methods.js';
import { DEFAULT } from '../src/feed/ranker/params.js';

// 50,000 likes by 1,000 users; 10 communities so taste is not one global list. Run once for every test below.
let small: EvalReport | undefined;
const smallReport = () => (small ??= runEvaluation({ likes: 50_000, seed: 42, cutoffHours: 12, maxUsers: 500, communities: 10 }));

describe('offline ranker evaluation', () => {
  it('scores recall@K and binary nDCG@K', () => {
    const relevant = new Set([1, 2, 3, 4]);
    // Hits at ranks 0 and 2; 4 relevant, K = 3: recall 2/4, nDCG (1 + 1/2) / (1 + 1/log2 3 + 1/2).
    const s = score(Int32Array.from([1, 9, 2, 3]), relevant, 3);
    expect(s.recall).toBe(0.5);
    expect(s.ndcg).toBeCloseTo(1.5 / (1 + 1 / Math.log2(3) + 0.5), 12);
    expect(score(Int32Array.from([1, 2, 3, 4]), relevant, 50)).toEqual({ recall: 1, ndcg: 1 });
    expect(score(new Int32Array(0), relevant, 50)).toEqual({ recall: 0, ndcg: 0 });
  });

  it('the default preset beats the popularity baseline on a small generated stream', () => {
    const report = smallReport();
    const by = Object.fromEntries(report.methods.map((m) => [m.name, m]));
    const def = by.default!;
    const popularity = by.popularity!;

    expect(report.evaluatedUsers).toBeGreaterThanOrEqual(50);
    expect(report.relevantPosts).toBeGreaterThan(report.evaluatedUsers * 3 - 1);
    expect(report.stats.heldOutNewPost).toBeGreaterThan(0); // posts born after the cut-off are left out
    for (const m of report.methods) {
      expect(m.recall).toBeGreaterThanOrEqual(0);
      expect(m.recall).toBeLessThanOrEqual(1);
      expect(m.ndcg).toBeGreaterThanOrEqual(0);
      expect(m.ndcg).toBeLessThanOrEqual(1);
    }
    // Every ranker walk is bounded by its preset.
    for (const m of report.methods) if (m.workBound !== undefined) expect(m.workPerRequest!).toBeLessThanOrEqual(m.workBound);
    expect(def.coldStarts).toBe(0); // eligible users have 5+ likes
    expect(def.recall).toBeGreaterThan(popularity.recall);
  });

  it('tunes by variants: the base preset, each variant of it on the same users, then the references', () => {
    const methods = variantMethods('default', DEFAULT, { same: {}, flat: { colikerOverlapExponent: 1, colikerActivityExponent: 0 } });
    expect(methods.map((m) => m.name)).toEqual(['default', 'same', 'flat', ...METHODS.filter((m) => m.reference).map((m) => m.name)]);
    expect(methods[2]!.params).toEqual({ ...DEFAULT, colikerOverlapExponent: 1, colikerActivityExponent: 0 });
    const report = runEvaluation({ likes: 60_000, seed: 3, cutoffHours: 12, maxUsers: 60, methods: methods.slice(0, 3), coldStart: false });
    const [base, same, flat] = report.methods;
    expect(report.coldStart).toBeUndefined();
    expect(same!.recall).toBe(base!.recall); // same parameters, same users: the same figure
    expect(flat!.recall).not.toBe(base!.recall);
  });
});

describe('reference recommenders', () => {
  // 60,000 likes by 1,200 users in 10 communities; the graph at a cut-off 12 h before the end.
  const world = buildWorld(
    generateDataset({ seed: 7, likes: 60_000, communities: 10, endTimeUs: DEFAULT_END_TIME_US }),
    DEFAULT_END_TIME_US - 12 * 3600e6,
  );
  const users = sampleUsers(eligibleUsers(world, 5, 3), 60, 7);
  const references = { recencyColike, itemKnn, randomWalk };

  it('recommend none of the user’s liked or own posts, nor posts that are not live, and stay bounded', () => {
    const likes = new LikeList();
    for (const [name, reference] of Object.entries(references)) {
      const view = new CountingView(world.graph);
      for (const user of users) {
        world.graph.readLikesOfActor(user, Number.POSITIVE_INFINITY, likes);
        const liked = new Set(likes.ids.subarray(0, likes.length));
        const ranked = reference(view, user, world.cutoffS, 50, 42);
        expect(ranked.length, name).toBeLessThanOrEqual(50);
        expect(new Set(ranked).size, name).toBe(ranked.length);
        for (const post of ranked) {
          expect(liked.has(post), name).toBe(false);
          expect(world.graph.postAuthorOf(post), name).not.toBe(user);
          expect(world.graph.isPostLive(post), name).toBe(true);
        }
      }
      expect(view.touched / users.length, name).toBeLessThan(300_000);
    }
  });

  it('each beats popularity on a dataset with communities of taste', () => {
    const report = smallReport();
    const recall = Object.fromEntries(report.methods.map((m) => [m.name, m.recall]));
    for (const name of ['recency_colike', 'item_knn', 'random_walk']) expect(recall[name], name).toBeGreaterThan(recall.popularity!);
    const { best, ratioDefaultBest } = compareToReferences(report.methods);
    expect(best.recall).toBe(Math.max(...report.methods.filter((m) => m.reference).map((m) => m.recall)));
    expect(ratioDefaultBest).toBeCloseTo(recall.default! / best.recall, 12);
  });

  it('the random walk is reproducible for a seed, and another seed walks elsewhere', () => {
    const walks = (seed: number) => users.slice(0, 20).map((user) => [...randomWalk(world.graph, user, world.cutoffS, 50, seed)]);
    expect(walks(42)).toEqual(walks(42));
    expect(walks(43)).not.toEqual(walks(42));
  });

  it('the best reference is the reference with the highest recall, whatever the rankers score', () => {
    const method = (name: string, recall: number, reference: boolean): MethodResult => ({
      name,
      reference,
      recall,
      ndcg: 0,
      msPerRequest: 0,
      workPerRequest: undefined,
      workBound: undefined,
      coldStarts: 0,
    });
    const methods = [method('default', 0.5, false), method('cheap', 0.3, false), method('colike', 0.2, true), method('item_knn', 0.4, true), method('popularity', 0.1, true)];
    const { best, ratioDefaultBest, ratioCheapBest } = compareToReferences(methods);
    expect(best.name).toBe('item_knn');
    expect(ratioDefaultBest).toBeCloseTo(1.25, 12);
    expect(ratioCheapBest).toBeCloseTo(0.75, 12);
  });
});
