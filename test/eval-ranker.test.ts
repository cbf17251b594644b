import { describe, expect, it } from 'vitest';
import { runEvaluation, score } from '../testkit/eval/evaluate.js';

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
    // 50,000 likes by 1,000 users; 10 communities so taste is not one global list.
    const report = runEvaluation({ likes: 50_000, seed: 42, cutoffHours: 12, maxUsers: 500, communities: 10 });
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
    for (const m of report.methods) if (m.workBound !== undefined) expect(m.workPerRequest).toBeLessThanOrEqual(m.workBound);
    expect(def.coldStarts).toBe(0); // eligible users have 5+ likes
    expect(def.recall).toBeGreaterThan(popularity.recall);
  });
});
