import { describe, expect, it } from 'vitest';
import { computePopular } from '../src/feed/ranker/popular.js';
import { DEFAULT } from '../src/feed/ranker/params.js';
import { generateDataset, resolveOptions } from '../testkit/dataset/generator.js';
import { buildFollows } from '../testkit/dataset/model/follows.js';
import { COLD_MAX_LIKES, evaluateColdStart } from '../testkit/eval/cold-start.js';
import { DEFAULT_END_TIME_US } from '../testkit/eval/evaluate.js';
import { buildWorld } from '../testkit/eval/world.js';

describe('offline evaluation: the cold-start slice', () => {
  it('ranks users of a few likes from their follows better than the popular list', { timeout: 120_000 }, () => {
    // 200,000 likes by 4,000 users in 20 communities, so taste is not one global list.
    const options = resolveOptions({ seed: 42, likes: 200_000, communities: 20, endTimeUs: DEFAULT_END_TIME_US });
    const world = buildWorld(generateDataset(options), DEFAULT_END_TIME_US - 12 * 3600e6);
    const popular = computePopular(world.graph, DEFAULT, world.cutoffS);
    const report = evaluateColdStart(world, buildFollows(options), popular, {
      maxLikesBefore: COLD_MAX_LIKES,
      minLikesAfter: 3,
      maxUsers: 300,
      seed: 42,
      k: 50,
    });
    const by = Object.fromEntries(report.methods.map((m) => [m.name, m]));

    expect(report.evaluatedUsers).toBeGreaterThanOrEqual(100);
    expect(report.zeroLikeUsers).toBeGreaterThan(0);
    expect(report.meanFollowsSeen).toBeGreaterThan(5);
    expect(by.follows!.fallbacks).toBe(0);
    expect(by.follows!.recall).toBeGreaterThan(1.5 * by.popularity!.recall);
    expect(by.follows!.ndcg).toBeGreaterThan(by.popularity!.ndcg);
  });
});
