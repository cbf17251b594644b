import { describe, expect, it } from 'vitest';
import { LikeGraph, LikeList } from '../src/feed/graph/like-graph.js';
import { seeded } from '../testkit/random.js';

const T0 = 1_700_000_000;

function likersOf(graph: LikeGraph, post: number): Array<[number, number]> {
  const list = new LikeList();
  graph.readLikersOfPost(post, Number.POSITIVE_INFINITY, list);
  return Array.from(list.ids.subarray(0, list.length), (id, i) => [id, list.timesS[i]!]);
}

function compact(graph: LikeGraph): void {
  const build = graph.startCompaction();
  while (!build.step(Number.POSITIVE_INFINITY));
  graph.finishCompaction(build);
}

describe('LikeGraph post rows', () => {
  it('frees a post row when the last like goes, and gives it to the next new post', () => {
    const g = new LikeGraph();
    g.addLike(1, 1, 10, T0 + 1, 7);
    g.addLike(2, 2, 10, T0 + 2, 7);
    compact(g); // the freed row's compacted list must not leak into the next post's
    g.removeLike(1, 1, 10);
    expect(g.postCount).toBe(1);
    g.pruneThrough(2);
    // Like 2 was frozen, so the prune cannot tell whose it was: the post reads as not
    // held at once (its newest like is pruned), and the next compaction frees its row.
    expect([g.holdsPost(10), g.isPostLive(10), g.postAuthorOf(10), g.likesOfPost(10)]).toEqual([false, false, 0, 0]);
    expect(likersOf(g, 10)).toEqual([]);
    expect(g.postCount).toBe(1);
    compact(g);
    expect(g.postCount).toBe(0);
    const held = g.memoryBytes();

    g.addLike(3, 3, 20, T0 + 3, 8, true);
    expect(g.postCount).toBe(1);
    expect(g.memoryBytes()).toBe(held); // same row, same chunk
    expect(likersOf(g, 20)).toEqual([[3, T0 + 3]]);
    expect([g.isPostLive(20), g.postAuthorOf(20), g.likesOfPost(20)]).toEqual([false, 8, 1]);

    // Liked again, post 10 comes back with what its new like says.
    g.addLike(4, 4, 10, T0 + 4, 7);
    expect(likersOf(g, 10)).toEqual([[4, T0 + 4]]);
    expect([g.isPostLive(10), g.postAuthorOf(10), g.likesOfPost(10)]).toEqual([true, 7, 1]);
  });

  it('keeps memory bounded by the window while post ids double many times over', () => {
    const random = seeded(5);
    const g = new LikeGraph();
    const live = new Map<number, { actor: number; post: number; timeS: number }>();
    const WINDOW = 100_000;
    const TOTAL = 2_000_000;
    const samples: number[] = [];
    for (let id = 1; id <= TOTAL; id++) {
      // Mostly new posts (ids rise with time, as the database assigns them); some
      // evergreen posts keep old, low ids held through the whole run.
      const post = random() < 0.02 ? 1 + Math.floor(random() * 5) : Math.max(10, 10 + Math.floor(id / 4) - Math.floor(random() * 200));
      const like = { actor: 1 + Math.floor(random() * 2000), post, timeS: T0 + id };
      g.addLike(id, like.actor, like.post, like.timeS, 3000 + (post % 97));
      live.set(id, like);
      if (random() < 0.05) {
        const unliked = id - Math.floor(random() * 1000);
        const gone = live.get(unliked);
        g.removeLike(unliked, gone?.actor ?? 0, gone?.post ?? 0);
        live.delete(unliked);
      }
      if (id % 10_000 === 0) {
        g.pruneThrough(id - WINDOW);
        for (const old of live.keys()) {
          if (old > id - WINDOW) break;
          live.delete(old);
        }
        if (id % 200_000 === 0) compact(g);
        samples.push(g.memoryBytes());
      }
    }
    // Post ids went from 10 to 500,000 (nine doublings) with about 25,000 posts in the window.
    const warm = samples.slice(0, samples.length / 5);
    const later = samples.slice(samples.length / 5);
    // (Within 1 %: the compacted lists follow the live likes, which vary a little.)
    expect(Math.max(...later)).toBeLessThanOrEqual(Math.max(...warm) * 1.01);
    expect(g.postCount).toBeLessThan(40_000);

    expect(g.likeCount).toBe(live.size);
    const byPost = new Map<number, Array<[number, number]>>();
    for (const like of [...live.values()].reverse()) {
      const list = byPost.get(like.post) ?? [];
      list.push([like.actor, like.timeS]);
      byPost.set(like.post, list);
    }
    expect(g.postCount).toBe(byPost.size);
    for (const post of [1, 2, 3, 4, 5, ...[...byPost.keys()].filter((_, k) => k % 500 === 0)]) {
      expect(likersOf(g, post)).toEqual(byPost.get(post));
      expect(g.likesOfPost(post)).toBe(byPost.get(post)!.length);
      expect(g.postAuthorOf(post)).toBe(3000 + (post % 97));
    }
    // A post that left the window is not held.
    expect([g.likesOfPost(20), g.postAuthorOf(20), likersOf(g, 20)]).toEqual([0, 0, []]);
  });
});
