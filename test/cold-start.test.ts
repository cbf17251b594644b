import { describe, expect, it } from 'vitest';
import { LikeGraph } from '../src/feed/graph/like-graph.js';
import { blend, FOLLOWS_DEFAULTS, type FollowsParams, rankFromFollows } from '../src/feed/ranker/cold-start.js';
import { DEFAULT } from '../src/feed/ranker/params.js';

const NOW = 1_750_000_000;
const HOUR = 3600;

/** The new user (no likes), the account they follow, its co-liker, and a stranger. */
const U = 1;
const A = 2;
const V = 3;
const S = 4;
/** Posts, by author: OWN is U's, GONE deleted, the rest by 100 + post. */
const SHARED = 11;
const OWN = 12;
const GONE = 13;
const HOP = 14;
const STRANGE = 15;

/** [actor, post, hours ago], added oldest first with increasing ids. */
function graph(likes: Array<[number, number, number]>): LikeGraph {
  const g = new LikeGraph();
  const byAge = [...likes].sort((x, y) => y[2] - x[2]);
  for (const [k, [actor, post, hoursAgo]] of byAge.entries()) {
    g.addLike(k + 1, actor, post, NOW - hoursAgo * HOUR, post === OWN ? U : 100 + post);
  }
  g.markPostGone(GONE);
  return g;
}

const WORLD = graph([
  [A, SHARED, 5],
  [A, OWN, 4],
  [A, GONE, 3],
  [V, SHARED, 6],
  [V, HOP, 2],
  [S, STRANGE, 1],
]);

describe('rankFromFollows', () => {
  it('gives a user with no likes what the followed account and its co-likers liked, less own and gone posts', () => {
    const ranked = [...rankFromFollows(WORLD, U, [A], DEFAULT, FOLLOWS_DEFAULTS, NOW)];
    expect(ranked).toContain(SHARED);
    expect(ranked).toContain(HOP); // through V, who liked SHARED as A did
    expect(ranked).not.toContain(OWN);
    expect(ranked).not.toContain(GONE);
    expect(ranked).not.toContain(STRANGE);
    expect(new Set(ranked).size).toBe(ranked.length);
  });

  it('is empty when no followed account leads anywhere', () => {
    expect(rankFromFollows(WORLD, U, [], DEFAULT, FOLLOWS_DEFAULTS, NOW)).toHaveLength(0);
    expect(rankFromFollows(WORLD, U, [U, 99], DEFAULT, FOLLOWS_DEFAULTS, NOW)).toHaveLength(0);
  });

  it('never returns what the user liked already', () => {
    const g = graph([
      [A, SHARED, 5],
      [A, HOP, 4],
      [U, SHARED, 1],
    ]);
    expect([...rankFromFollows(g, U, [A], DEFAULT, FOLLOWS_DEFAULTS, NOW)]).toEqual([HOP]);
  });

  it('lets the user’s own few likes seed the second hop, as much as ownLikeWeight says', () => {
    // U liked STRANGE, which only S liked too; S also liked HOP. A, followed, liked SHARED.
    const g = graph([
      [A, SHARED, 5],
      [S, STRANGE, 4],
      [S, HOP, 3],
      [U, STRANGE, 1],
    ]);
    const without = [...rankFromFollows(g, U, [A], DEFAULT, { ...FOLLOWS_DEFAULTS, ownLikeWeight: 0 }, NOW)];
    const withOwn = [...rankFromFollows(g, U, [A], DEFAULT, { ...FOLLOWS_DEFAULTS, ownLikeWeight: 6 }, NOW)];
    expect(without).not.toContain(HOP);
    expect(withOwn).toContain(HOP);
    expect(withOwn).not.toContain(STRANGE);
  });
});

describe('blend', () => {
  const f: FollowsParams = { ...FOLLOWS_DEFAULTS, belowLikes: 10 };
  const personal = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const fromFollows = Float64Array.from([101, 102, 103, 104, 105, 106, 107, 108]);
  const personalShare = (out: Float64Array) => out.filter((post) => post < 100).length / out.length;

  it('is all follows at 0 likes, half and half at belowLikes / 2, all personal from belowLikes on', () => {
    expect([...blend(personal, fromFollows, 0, f, 8)]).toEqual([...fromFollows]);
    expect(personalShare(blend(personal, fromFollows, 5, f, 8))).toBe(0.5);
    expect([...blend(personal, fromFollows, 10, f, 8)]).toEqual([...personal]);
    expect([...blend(personal, fromFollows, 50, f, 8)]).toEqual([...personal]);
  });

  it('keeps each list in its own order and never repeats a post', () => {
    const out = [...blend(Float64Array.from([1, 2, 3, 4]), Float64Array.from([2, 9, 1, 8]), 5, f, 10)];
    expect(new Set(out).size).toBe(out.length);
    expect(out.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 8, 9]);
  });

  it('fills from the other list when one runs out, and stops at maxResults', () => {
    expect([...blend(new Float64Array(0), fromFollows, 9, f, 3)]).toEqual([101, 102, 103]);
    expect([...blend(personal, new Float64Array(0), 0, f, 3)]).toEqual([1, 2, 3]);
  });
});
