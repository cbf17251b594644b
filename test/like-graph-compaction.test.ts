import { describe, expect, it } from 'vitest';
import { LikeGraph, LikeList, type ReadLimits } from '../src/feed/graph/like-graph.js';
import { seeded } from '../testkit/random.js';

const T0 = 1_700_000_000;
const ACTORS = 60;
const POSTS = 300;

/** Two graphs fed the same changes: one never compacted (the reference), one compacted. */
class Twins {
  readonly plain = new LikeGraph();
  readonly compacted = new LikeGraph();
  private nextId = 0;
  private live: number[] = [];
  private readonly likes = new Map<number, [number, number]>();

  constructor(private readonly rnd: () => number) {}

  /** Likes with gaps between ids (ids come from the database; rows may be skipped). */
  add(n: number): void {
    for (let k = 0; k < n; k++) {
      this.nextId += 1 + Math.floor(this.rnd() * 30);
      const actor = 1 + Math.floor(this.rnd() ** 2 * ACTORS);
      const post = 1 + Math.floor(this.rnd() ** 2 * POSTS);
      const timeS = T0 + Math.floor(this.nextId / 10);
      for (const g of this.graphs()) g.addLike(this.nextId, actor, post, timeS);
      this.live.push(this.nextId);
      this.likes.set(this.nextId, [actor, post]);
    }
  }

  unlike(n: number): void {
    for (let k = 0; k < n && this.live.length > 0; k++) {
      const [id] = this.live.splice(Math.floor(this.rnd() * this.live.length), 1);
      const [actor, post] = this.likes.get(id!)!;
      for (const g of this.graphs()) g.removeLike(id!, actor, post);
    }
  }

  /** Prunes the oldest `share` of the live likes. */
  prune(share: number): void {
    const through = this.live[Math.floor(this.live.length * share)]!;
    for (const g of this.graphs()) g.pruneThrough(through);
    this.live = this.live.filter((id) => id > through);
  }

  graphs(): LikeGraph[] {
    return [this.plain, this.compacted];
  }

  /** Every list read both ways, with and without limits, must agree. */
  expectSameReads(): void {
    const limitsToTry: Array<[number, ReadLimits]> = [
      [Infinity, {}],
      [7, {}],
      [Infinity, { notBeforeS: T0 + Math.floor(this.nextId / 20) }],
      [50, { notBeforeS: T0 + Math.floor(this.nextId / 20), atLeast: 5 }],
    ];
    for (const [max, limits] of limitsToTry) {
      for (let actor = 0; actor <= ACTORS + 1; actor++) {
        expect(read((g, out) => g.readLikesOfActor(actor, max, out, limits), this.compacted)).toEqual(
          read((g, out) => g.readLikesOfActor(actor, max, out, limits), this.plain),
        );
      }
      for (let post = 0; post <= POSTS + 1; post++) {
        expect(read((g, out) => g.readLikersOfPost(post, max, out, limits), this.compacted)).toEqual(
          read((g, out) => g.readLikersOfPost(post, max, out, limits), this.plain),
        );
      }
    }
  }
}

function read(how: (g: LikeGraph, out: LikeList) => void, graph: LikeGraph): Array<[number, number]> {
  const out = new LikeList();
  how(graph, out);
  return Array.from(out.ids.subarray(0, out.length), (id, i) => [id, out.timesS[i]!]);
}

describe('LikeGraph compaction', () => {
  it('reads the same lists as a graph never compacted, with unlikes, new likes and prunes before, during and after a build', () => {
    const twins = new Twins(seeded(11));
    twins.add(8000); // ids span about 120,000: a build takes several slices of each pass
    const build = twins.compacted.startCompaction();
    let slices = 0;
    // Changes land between slices, as they do between the event loop's turns.
    while (!build.step(0)) {
      slices++;
      twins.unlike(40);
      twins.add(200);
      if (slices === 3) twins.prune(0.1);
    }
    expect(slices).toBeGreaterThanOrEqual(3);
    twins.compacted.finishCompaction(build);
    expect(twins.compacted.likesSinceCompaction).toBeGreaterThan(0); // the likes added during the build
    twins.expectSameReads();

    twins.unlike(500);
    twins.add(3000);
    twins.prune(0.3);
    twins.expectSameReads();

    const again = twins.compacted.startCompaction();
    while (!again.step(Number.POSITIVE_INFINITY));
    twins.compacted.finishCompaction(again);
    expect(twins.compacted.likesSinceCompaction).toBe(0);
    twins.expectSameReads();
    expect(twins.compacted.likeCount).toBe(twins.plain.likeCount);
  });

  it('counts the compacted lists in memoryBytes', () => {
    const twins = new Twins(seeded(3));
    twins.add(1000);
    const before = twins.compacted.memoryBytes();
    const build = twins.compacted.startCompaction();
    while (!build.step(Number.POSITIVE_INFINITY));
    twins.compacted.finishCompaction(build);
    // Per like and direction: the other id (4), the time (4) and the like id (8).
    expect(twins.compacted.memoryBytes() - before).toBeGreaterThanOrEqual(1000 * 2 * 16);
    expect(twins.plain.memoryBytes()).toBe(before);
  });
});
