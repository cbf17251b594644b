import { describe, expect, it } from 'vitest';
import { LikeGraph, LikeList } from '../src/feed/graph/like-graph.js';

const CHUNK = 65_536;
/**
 * Bytes of one chunk of like slots: 32 per slot (two 8-byte links, four 4-byte fields).
 * (No removed bit per slot any more: a compacted like's liveness is in its stamp.)
 */
const CHUNK_BYTES = 65_536 * 32;
const T0 = 1_700_000_000;
/** An empty graph's arrays: per actor id and per post row, 1024 of each to start. */
const EMPTY_BYTES = new LikeGraph().memoryBytes();

/** [post, timeS] pairs an actor's walk visits, newest first. */
function likesOf(graph: LikeGraph, actor: number, max = Number.POSITIVE_INFINITY): Array<[number, number]> {
  return pairs((list) => graph.readLikesOfActor(actor, max, list));
}

/** [actor, timeS] pairs a post's walk visits, newest first. */
function likersOf(graph: LikeGraph, post: number, max = Number.POSITIVE_INFINITY): Array<[number, number]> {
  return pairs((list) => graph.readLikersOfPost(post, max, list));
}

function pairs(read: (list: LikeList) => void): Array<[number, number]> {
  const list = new LikeList();
  read(list);
  return Array.from(list.ids.subarray(0, list.length), (id, i) => [id, list.timesS[i]!]);
}

function since(graph: LikeGraph, afterId: number): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  graph.forEachLikeSince(afterId, (post, actor, timeS) => out.push([post, actor, timeS]));
  return out;
}

/**
 * Actor 1 likes posts 10, 11, 12 (ids 1, 3, 5); actor 2 likes 10 and 12 (ids 2, 4);
 * actor 3 likes 10 (id 6). Like id n has time T0 + n.
 */
function small(): LikeGraph {
  const g = new LikeGraph();
  g.addLike(1, 1, 10, T0 + 1);
  g.addLike(2, 2, 10, T0 + 2);
  g.addLike(3, 1, 11, T0 + 3);
  g.addLike(4, 2, 12, T0 + 4);
  g.addLike(5, 1, 12, T0 + 5);
  g.addLike(6, 3, 10, T0 + 6);
  return g;
}

describe('LikeGraph', () => {
  it('walks an actor’s likes and a post’s likers newest first', () => {
    const g = small();
    expect(likesOf(g, 1)).toEqual([
      [12, T0 + 5],
      [11, T0 + 3],
      [10, T0 + 1],
    ]);
    expect(likesOf(g, 2)).toEqual([
      [12, T0 + 4],
      [10, T0 + 2],
    ]);
    expect(likersOf(g, 10)).toEqual([
      [3, T0 + 6],
      [2, T0 + 2],
      [1, T0 + 1],
    ]);
    expect(likersOf(g, 12)).toEqual([
      [1, T0 + 5],
      [2, T0 + 4],
    ]);
    expect(g.likesOfActor(1)).toBe(3);
    expect(g.likesOfPost(10)).toBe(3);
    expect(g.likeCount).toBe(6);
    expect(g.newestLikeId).toBe(6);
  });

  it('knows nothing of actors and posts it never saw, however large their ids', () => {
    const g = small();
    expect(likesOf(g, 4)).toEqual([]);
    expect(likesOf(g, 1_000_000)).toEqual([]);
    expect(likersOf(g, 1_000_000)).toEqual([]);
    expect(g.likesOfActor(1_000_000)).toBe(0);
    expect(g.likesOfPost(1_000_000)).toBe(0);
    expect(g.readLikesOfActor(1_000_000, 10, new LikeList())).toBe(0);
    expect(g.isActorActive(1_000_000)).toBe(false);
    expect(g.isPostLive(1_000_000)).toBe(false);
    expect(g.postAuthorOf(1_000_000)).toBe(0);
  });

  it('grows its per-actor and per-post arrays past their first size and keeps what they held', () => {
    const g = new LikeGraph();
    g.setActorActive(8, false);
    for (let i = 1; i <= 5000; i++) g.addLike(i, i, 6000 - i, T0 + i);
    g.addLike(5001, 1, 5, T0, 7);
    expect(g.likesOfActor(4999)).toBe(1);
    expect(likesOf(g, 4321)).toEqual([[6000 - 4321, T0 + 4321]]);
    expect(likersOf(g, 1000)).toEqual([[5000, T0 + 5000]]);
    expect(g.postAuthorOf(5)).toBe(7);
    expect(g.isActorActive(8)).toBe(false);
    expect(g.isActorActive(4000)).toBe(true);
  });

  it('stops at maxLikes, counting only live likes towards it, and when visit returns false', () => {
    const g = small();
    expect(likesOf(g, 1, 2)).toEqual([
      [12, T0 + 5],
      [11, T0 + 3],
    ]);
    expect(likersOf(g, 10, 1)).toEqual([[3, T0 + 6]]);
    expect(likesOf(g, 1, 0)).toEqual([]);

    // An unliked slot is touched but does not use up the cap.
    g.removeLike(5, 1, 12);
    expect(likesOf(g, 1, 2)).toEqual([
      [11, T0 + 3],
      [10, T0 + 1],
    ]);

    // A cap counts live likes; the work counts every slot touched.
    const list = new LikeList();
    expect(g.readLikersOfPost(10, 2, list)).toBe(2);
    expect(Array.from(list.ids.subarray(0, list.length))).toEqual([3, 2]);
    expect(g.readLikesOfActor(1, 10, list)).toBe(3); // ids 5 (dead), 3, 1
  });

  it('skips an unliked like and updates the counts, once', () => {
    const g = small();
    g.removeLike(4, 2, 12);
    expect(likesOf(g, 2)).toEqual([[10, T0 + 2]]);
    expect(likersOf(g, 12)).toEqual([[1, T0 + 5]]);
    expect(g.likesOfActor(2)).toBe(1);
    expect(g.likesOfPost(12)).toBe(1);
    expect(g.likeCount).toBe(5);

    g.removeLike(4, 2, 12); // a replayed unlike
    g.removeLike(99, 2, 12); // a like the graph never had
    g.removeLike(0, 2, 12);
    expect(g.likeCount).toBe(5);
    expect(g.likesOfActor(2)).toBe(1);
    expect(g.likesOfPost(12)).toBe(1);

    // The newest like of a list can go too: the walk starts past it.
    g.removeLike(6, 3, 10);
    expect(likersOf(g, 10)).toEqual([
      [2, T0 + 2],
      [1, T0 + 1],
    ]);
    expect(likesOf(g, 3)).toEqual([]);
    expect(g.likesOfActor(3)).toBe(0);
  });

  it('requires increasing ids', () => {
    const g = small();
    expect(() => g.addLike(6, 1, 10, T0)).toThrow(/like 6 arrived after 6/);
    expect(() => g.addLike(3, 1, 10, T0)).toThrow();
    expect(g.likeCount).toBe(6);
    expect(likesOf(g, 1)).toHaveLength(3);
    g.addLike(100, 1, 13, T0 + 100); // gaps are fine
    expect(likesOf(g, 1)[0]).toEqual([13, T0 + 100]);
  });

  it('prunes likes at and below an id: counts drop and walks stop there', () => {
    const g = small();
    g.pruneThrough(3);
    expect(g.likeCount).toBe(3);
    expect(likesOf(g, 1)).toEqual([[12, T0 + 5]]);
    expect(likesOf(g, 2)).toEqual([[12, T0 + 4]]);
    expect(likersOf(g, 10)).toEqual([[3, T0 + 6]]);
    expect(likersOf(g, 11)).toEqual([]);
    expect(g.likesOfActor(1)).toBe(1);
    expect(g.likesOfActor(2)).toBe(1);
    expect(g.likesOfPost(10)).toBe(1);
    expect(g.likesOfPost(11)).toBe(0);
    // The walk ends at the floor: it does not touch the pruned slots.
    expect(g.readLikesOfActor(1, 10, new LikeList())).toBe(1);

    // Unliking a pruned like, or pruning again below the floor, changes nothing.
    g.removeLike(2, 2, 10);
    g.pruneThrough(2);
    expect(g.likeCount).toBe(3);
    expect(g.likesOfActor(2)).toBe(1);

    // An unliked like that is then pruned is not counted twice.
    g.removeLike(4, 2, 12);
    expect(g.likeCount).toBe(2);
    g.pruneThrough(4);
    expect(g.likeCount).toBe(2);
    expect(g.likesOfActor(2)).toBe(0);
    expect(g.likesOfPost(12)).toBe(1);

    // Pruning past the newest like empties the graph; newer likes still arrive.
    g.pruneThrough(1000);
    expect(g.likeCount).toBe(0);
    expect(g.likesOfActor(1) + g.likesOfActor(3) + g.likesOfPost(10) + g.likesOfPost(12)).toBe(0);
    expect(likesOf(g, 1)).toEqual([]);
    g.addLike(7, 1, 10, T0 + 7);
    expect(likesOf(g, 1)).toEqual([[10, T0 + 7]]);
    expect(likersOf(g, 10)).toEqual([[1, T0 + 7]]);
    expect(g.likeCount).toBe(1);
  });

  it('frees whole chunks once every id in them is pruned, across chunk boundaries', () => {
    const g = new LikeGraph();
    expect(g.memoryBytes()).toBe(EMPTY_BYTES);
    // Actor 1 and post 5 get one like in each of chunks 0, 1 and 2; actor 2 likes at the edges.
    const ids = [1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 5];
    ids.forEach((id, k) => g.addLike(id, k % 2 === 0 ? 1 : 2, 5, T0 + k + 1));
    expect(g.memoryBytes()).toBe(3 * CHUNK_BYTES + EMPTY_BYTES);
    expect(likersOf(g, 5).map(([, t]) => t - T0)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(likesOf(g, 1).map(([, t]) => t - T0)).toEqual([7, 5, 3, 1]);
    expect(likesOf(g, 2).map(([, t]) => t - T0)).toEqual([6, 4, 2]);

    // Through CHUNK - 2: id CHUNK - 1 still lives in chunk 0, so nothing is freed.
    g.pruneThrough(CHUNK - 2);
    expect(g.memoryBytes()).toBe(3 * CHUNK_BYTES + EMPTY_BYTES);
    expect(g.likeCount).toBe(6);
    expect(likersOf(g, 5)).toHaveLength(6);

    // Through CHUNK - 1: chunk 0 is all pruned and goes.
    g.pruneThrough(CHUNK - 1);
    expect(g.memoryBytes()).toBe(2 * CHUNK_BYTES + EMPTY_BYTES);
    expect(g.likeCount).toBe(5);
    expect(likesOf(g, 2).map(([, t]) => t - T0)).toEqual([6, 4]);
    expect(likersOf(g, 5).map(([, t]) => t - T0)).toEqual([7, 6, 5, 4, 3]);

    // Through 2 * CHUNK: chunk 1 goes; the walks keep what lives in chunk 2.
    g.pruneThrough(2 * CHUNK);
    expect(g.memoryBytes()).toBe(CHUNK_BYTES + EMPTY_BYTES);
    expect(g.likeCount).toBe(1);
    expect(likesOf(g, 1)).toEqual([[5, T0 + 7]]);
    expect(likesOf(g, 2)).toEqual([]);
    expect(g.likesOfActor(1)).toBe(1);
    expect(g.likesOfActor(2)).toBe(0);
    expect(g.likesOfPost(5)).toBe(1);
    expect(since(g, 0)).toEqual([[5, 1, T0 + 7]]);

    // Later likes reuse nothing of the freed chunks and link to the survivors.
    g.addLike(3 * CHUNK + 1, 1, 5, T0 + 8);
    expect(likesOf(g, 1).map(([, t]) => t - T0)).toEqual([8, 7]);
    expect(g.memoryBytes()).toBe(2 * CHUNK_BYTES + EMPTY_BYTES);
  });

  it('prunes a large range in one call and agrees with a plain model', () => {
    const g = new LikeGraph();
    const live = new Map<number, { actor: number; post: number; timeS: number }>();
    // 150,000 likes: three chunks' worth; 50 actors, 300 posts, every 7th unliked.
    for (let id = 1; id <= 150_000; id++) {
      const like = { actor: 1 + ((id * 7) % 50), post: 1 + ((id * 13) % 300), timeS: T0 + id };
      g.addLike(id, like.actor, like.post, like.timeS);
      live.set(id, like);
      if (id % 7 === 0) {
        g.removeLike(id, like.actor, like.post);
        live.delete(id);
      }
    }
    const check = () => {
      expect(g.likeCount).toBe(live.size);
      for (const actor of [1, 17, 50]) {
        const expected = [...live].filter(([, l]) => l.actor === actor).map(([, l]) => [l.post, l.timeS] as [number, number]).reverse();
        expect(likesOf(g, actor)).toEqual(expected);
        expect(g.likesOfActor(actor)).toBe(expected.length);
      }
      for (const post of [1, 150, 300]) {
        const expected = [...live].filter(([, l]) => l.post === post).map(([, l]) => [l.actor, l.timeS] as [number, number]).reverse();
        expect(likersOf(g, post)).toEqual(expected);
        expect(g.likesOfPost(post)).toBe(expected.length);
      }
    };
    check();
    const before = g.memoryBytes();
    g.pruneThrough(100_000);
    for (const id of [...live.keys()]) if (id <= 100_000) live.delete(id);
    check();
    expect(before - g.memoryBytes()).toBe(CHUNK_BYTES); // chunk 0 (ids < 65,536) freed
  });

  it('says whether a post is live: not gone, and its author active', () => {
    const g = new LikeGraph();
    // A like brings its post in, with the author and deleted flag of the post's row.
    g.addLike(1, 9, 10, T0, 1);
    g.addLike(2, 9, 11, T0, 1, true);
    g.addLike(3, 9, 12, T0, 2);
    g.addLike(4, 9, 5000, T0, 3);
    // A post already held keeps its author and flag.
    g.addLike(5, 8, 12, T0, 4, true);
    expect(g.isPostLive(10)).toBe(true);
    expect(g.isPostLive(11)).toBe(false);
    expect(g.isPostLive(5000)).toBe(true);
    expect(g.postAuthorOf(12)).toBe(2);
    expect(g.postAuthorOf(5000)).toBe(3);

    g.markPostGone(10);
    expect(g.isPostLive(10)).toBe(false);
    expect(g.isPostLive(12)).toBe(true);

    g.setActorActive(2, false);
    expect(g.isActorActive(2)).toBe(false);
    expect(g.isPostLive(12)).toBe(false);
    g.setActorActive(2, true);
    expect(g.isActorActive(2)).toBe(true);
    expect(g.isPostLive(12)).toBe(true);

    // An inactive actor's likes stay in the graph (the ranker skips the actor); only the status changes.
    g.addLike(6, 2, 10, T0);
    g.setActorActive(2, false);
    expect(likesOf(g, 2)).toEqual([[10, T0]]);
    expect(g.likeCount).toBe(6);

    // A post without likes is not held: marking it gone changes nothing, and it is not live.
    g.markPostGone(7000);
    expect(g.isPostLive(7000)).toBe(false);
    expect(g.postCount).toBe(4);
  });

  it('memoryBytes grows with likes and with actor ids', () => {
    const g = new LikeGraph();
    const empty = g.memoryBytes();
    g.addLike(1, 1, 1, T0);
    const oneChunk = g.memoryBytes();
    expect(oneChunk).toBe(empty + CHUNK_BYTES);
    for (let id = 2; id < CHUNK; id++) g.addLike(id, 1, 1, T0);
    expect(g.memoryBytes()).toBe(oneChunk);
    // About 32 bytes per like once a chunk is full.
    expect(g.memoryBytes() / g.likeCount).toBeLessThan(33);
    g.addLike(CHUNK, 1, 1, T0);
    expect(g.memoryBytes()).toBe(oneChunk + CHUNK_BYTES);
    g.addLike(CHUNK + 1, 100_000, 1, T0);
    expect(g.memoryBytes()).toBeGreaterThan(oneChunk + CHUNK_BYTES + 100_000);
  });

  it('forEachLikeSince visits live likes above an id, oldest first', () => {
    const g = small();
    expect(since(g, 0)).toEqual([
      [10, 1, T0 + 1],
      [10, 2, T0 + 2],
      [11, 1, T0 + 3],
      [12, 2, T0 + 4],
      [12, 1, T0 + 5],
      [10, 3, T0 + 6],
    ]);
    expect(since(g, 4)).toEqual([
      [12, 1, T0 + 5],
      [10, 3, T0 + 6],
    ]);
    expect(since(g, 6)).toEqual([]);
    expect(since(g, -1000)).toHaveLength(6);
    g.removeLike(5, 1, 12);
    expect(since(g, 4)).toEqual([[10, 3, T0 + 6]]);
    g.pruneThrough(3);
    expect(since(g, 0)).toEqual([
      [12, 2, T0 + 4],
      [10, 3, T0 + 6],
    ]);
    // Sparse ids across chunks: empty chunks are skipped.
    g.addLike(3 * CHUNK + 2, 4, 20, T0 + 9);
    expect(since(g, 5)).toEqual([
      [10, 3, T0 + 6],
      [20, 4, T0 + 9],
    ]);
  });
});

describe('like ids past 2^31 (weeks of the firehose)', () => {
  it('walks, removes and prunes likes whose ids do not fit in 32 bits', () => {
    const g = new LikeGraph();
    const base = 2 ** 31 - 2;
    for (let k = 0; k < 4; k++) g.addLike(base + k, 1, 10 + k, 1000 + k);
    g.addLike(2 ** 33 + 5, 1, 20, 2000);
    expect(likesOf(g, 1).map(([post]) => post)).toEqual([20, 13, 12, 11, 10]);
    g.removeLike(base + 2, 1, 12);
    g.pruneThrough(base);
    expect(likesOf(g, 1).map(([post]) => post)).toEqual([20, 13, 11]);
    expect(g.likesOfActor(1)).toBe(3);
  });
});

describe('a first prune far below the graph', () => {
  it('jumps over chunks that were never allocated', () => {
    const g = new LikeGraph();
    const first = 3_000_000_000;
    g.addLike(first, 1, 10, 1000);
    g.addLike(first + 1, 1, 11, 1001);
    // Billions of ids below the first like: the prune must not visit them one by one.
    g.pruneThrough(first);
    expect(g.likeCount).toBe(1);
    expect(g.likesOfActor(1)).toBe(1);
  });
});
