import { describe, expect, it } from 'vitest';
import type { CompactionBuild } from '../src/feed/graph/compaction-build.js';
import { LikeGraph, LikeList, type ReadLimits } from '../src/feed/graph/like-graph.js';
import { Rng } from '../testkit/dataset/random.js';

/**
 * LikeGraph against a naive model (every like in an array) over thousands of random
 * operations: likes with rising ids (with gaps) and times, unlikes (some replayed, some
 * of pruned likes), prunes, post deletes, account changes, and compactions whose
 * slices interleave with all of these. After each batch every list read, count and
 * post state is checked against the model.
 */
const T0 = 1_700_000_000;
const ACTORS = 80;
// More seeds: GRAPH_MODEL_SEEDS=1-50 (each takes a few seconds)
const SEEDS = seedsFromEnv(process.env.GRAPH_MODEL_SEEDS) ?? [1, 2, 3];
const BATCHES = 170;

interface ModelLike {
  id: number;
  actor: number;
  post: number;
  timeS: number;
  live: boolean;
}

class Model {
  readonly likes: ModelLike[] = [];
  readonly byId = new Map<number, ModelLike>();
  floor = 0;
  readonly gone = new Set<number>();
  readonly inactive = new Set<number>();

  add(like: ModelLike): void {
    this.likes.push(like);
    this.byId.set(like.id, like);
  }

  prune(through: number): void {
    this.floor = Math.max(this.floor, through);
    for (const like of this.likes) if (like.id <= this.floor) like.live = false;
  }

  /** Live likes, newest first, grouped by actor and by post. */
  lists(): { byActor: Map<number, ModelLike[]>; byPost: Map<number, ModelLike[]>; live: number } {
    const byActor = new Map<number, ModelLike[]>();
    const byPost = new Map<number, ModelLike[]>();
    let live = 0;
    for (let i = this.likes.length - 1; i >= 0; i--) {
      const like = this.likes[i]!;
      if (!like.live) continue;
      live++;
      push(byActor, like.actor, like);
      push(byPost, like.post, like);
    }
    return { byActor, byPost, live };
  }
}

function push(map: Map<number, ModelLike[]>, key: number, like: ModelLike): void {
  const list = map.get(key);
  if (list) list.push(like);
  else map.set(key, [like]);
}

/** What a read returns: the list cut by `max` and the limits, as the graph documents them. */
function expectedRead(list: ModelLike[], other: 'post' | 'actor', max: number, limits: ReadLimits): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const like of list) {
    if (out.length >= max) break;
    if (like.timeS < (limits.notBeforeS ?? 0) && out.length >= (limits.atLeast ?? 0)) break;
    out.push([like[other], like.timeS]);
  }
  return out;
}

function read(how: (out: LikeList) => void): Array<[number, number]> {
  const out = new LikeList();
  how(out);
  return Array.from(out.ids.subarray(0, out.length), (id, i) => [id, out.timesS[i]!]);
}

class Run {
  readonly graph = new LikeGraph();
  readonly model = new Model();
  private readonly rng: Rng;
  private nextId = 0;
  private likesMade = 0;
  private build: CompactionBuild | undefined;
  /** Whether anything changed since the build in progress started. */
  private changedDuringBuild = false;
  readonly postsSeen = new Set<number>();
  stats = { compactions: 0, exactChecks: 0, frozenReads: 0, slices: 0 };

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
  }

  /** Posts: mostly fresh ones (ids rise with the stream, so old rows free up), some evergreen. */
  private pickPost(): number {
    if (this.rng.float() < 0.05) return 1 + this.rng.below(4);
    return 10 + Math.max(0, Math.floor(this.likesMade / 15) - this.rng.below(30));
  }

  private authorOf(post: number): number {
    return 1 + (post % 23);
  }

  add(): void {
    this.nextId += 1 + this.rng.below(40);
    this.likesMade++;
    const actor = 1 + Math.floor(this.rng.float() ** 2 * ACTORS);
    const post = this.pickPost();
    // Times rise with ids, a few seconds back now and then (time_us is not strictly monotonic).
    const timeS = T0 + Math.floor(this.nextId / 8) - this.rng.below(3);
    this.graph.addLike(this.nextId, actor, post, timeS, this.authorOf(post), this.model.gone.has(post));
    this.model.add({ id: this.nextId, actor, post, timeS, live: true });
    this.postsSeen.add(post);
    this.changed();
  }

  /** Unlikes a recent-ish like, live or not (a replayed unlike changes nothing). */
  unlike(): void {
    const likes = this.model.likes;
    if (likes.length === 0) return;
    const like = likes[likes.length - 1 - Math.floor(this.rng.float() ** 3 * likes.length)]!;
    this.graph.removeLike(like.id, like.actor, like.post);
    like.live = false;
    this.changed();
  }

  prune(): void {
    const through = this.model.floor + this.rng.below(Math.max(1, Math.floor((this.nextId - this.model.floor) / 8)));
    this.graph.pruneThrough(through);
    this.model.prune(Math.min(through, this.nextId));
    this.changed();
  }

  deletePost(): void {
    const post = this.pickPost();
    this.model.gone.add(post);
    this.graph.markPostGone(post);
    this.changed();
  }

  toggleActor(): void {
    const actor = 1 + this.rng.below(ACTORS);
    const active = this.model.inactive.has(actor);
    if (active) this.model.inactive.delete(actor);
    else this.model.inactive.add(actor);
    this.graph.setActorActive(actor, active);
    this.changed();
  }

  /** One slice of the build under way, or a new build now and then. */
  compactionStep(): void {
    if (!this.build) {
      const keep = [undefined, 0, 500, 5000][this.rng.below(4)];
      this.build = this.graph.startCompaction(keep === undefined ? {} : { keepNewest: keep });
      this.changedDuringBuild = false;
    }
    this.stats.slices++;
    if (!this.build.step(0)) return;
    this.graph.finishCompaction(this.build);
    this.build = undefined;
    this.stats.compactions++;
    // No change since the build started: every count is exact again.
    if (!this.changedDuringBuild) this.check(true);
  }

  /** A whole compaction at once, nothing changing meanwhile. */
  compactNow(): void {
    const build = this.graph.startCompaction(this.rng.float() < 0.5 ? {} : { keepNewest: 2000 });
    while (!build.step(Number.POSITIVE_INFINITY));
    this.graph.finishCompaction(build);
    this.build = undefined;
    this.stats.compactions++;
    this.check(true);
  }

  private changed(): void {
    this.changedDuringBuild = true;
  }

  /** Everything the graph answers, against the model; `exact`: counts equal live likes. */
  check(exact = false): void {
    const { graph, model } = this;
    const { byActor, byPost, live } = model.lists();
    expect(graph.likeCount, 'likeCount').toBe(live);
    const newest = model.likes.at(-1)?.timeS ?? T0;
    const limitsToTry: Array<[number, ReadLimits]> = [
      [Number.POSITIVE_INFINITY, {}],
      [5, {}],
      [500, { notBeforeS: newest - 2000 }],
      [40, { notBeforeS: newest - 4000, atLeast: 7 }],
    ];
    if (exact) this.stats.exactChecks++;
    for (let actor = 0; actor <= ACTORS + 1; actor++) {
      const list = byActor.get(actor) ?? [];
      for (const [max, limits] of limitsToTry) {
        expect(read((out) => graph.readLikesOfActor(actor, max, out, limits)), `actor ${actor} max ${max} ${JSON.stringify(limits)}`).toEqual(
          expectedRead(list, 'post', max, limits),
        );
      }
      if (list.some((l) => l.id <= graph.compactedThrough)) this.stats.frozenReads++;
      const count = graph.likesOfActor(actor);
      if (exact) expect(count, `likesOfActor ${actor}`).toBe(list.length);
      else expect(count, `likesOfActor ${actor}`).toBeGreaterThanOrEqual(list.length);
    }
    for (const post of [0, ...this.postsSeen]) {
      const list = byPost.get(post) ?? [];
      for (const [max, limits] of limitsToTry) {
        expect(read((out) => graph.readLikersOfPost(post, max, out, limits)), `post ${post} max ${max} ${JSON.stringify(limits)}`).toEqual(
          expectedRead(list, 'actor', max, limits),
        );
      }
      const count = graph.likesOfPost(post);
      if (exact) expect(count, `likesOfPost ${post}`).toBe(list.length);
      else expect(count, `likesOfPost ${post}`).toBeGreaterThanOrEqual(list.length);
      // Held while counted: a post with live likes always, one whose count is still high for a while.
      expect(graph.holdsPost(post), `holdsPost ${post}`).toBe(count > 0);
      const author = this.authorOf(post);
      expect(graph.postAuthorOf(post), `postAuthorOf ${post}`).toBe(count > 0 ? author : 0);
      expect(graph.isPostLive(post), `isPostLive ${post}`).toBe(count > 0 && !model.gone.has(post) && !model.inactive.has(author));
    }
    if (exact) expect(graph.postCount, 'postCount').toBe(byPost.size);
    else expect(graph.postCount, 'postCount').toBeGreaterThanOrEqual(byPost.size);

    // forEachLikeSince: the live likes still in slots, oldest first.
    const afterId = Math.max(0, this.nextId - 3000);
    const since: Array<[number, number, number]> = [];
    graph.forEachLikeSince(afterId, (post, actor, timeS) => since.push([post, actor, timeS]));
    const from = Math.max(afterId, graph.compactedThrough);
    expect(since, 'forEachLikeSince').toEqual(model.likes.filter((l) => l.live && l.id > from).map((l) => [l.post, l.actor, l.timeS]));
  }

  run(): void {
    for (let batch = 0; batch < BATCHES; batch++) {
      const ops = 20 + this.rng.below(60);
      for (let k = 0; k < ops; k++) {
        const r = this.rng.float();
        if (r < 0.63) this.add();
        else if (r < 0.73) this.unlike();
        else if (r < 0.74) this.prune();
        else if (r < 0.75) this.deletePost();
        else if (r < 0.76) this.toggleActor();
        else this.compactionStep();
      }
      if (this.rng.float() < 0.05) this.compactNow();
      else this.check();
    }
  }
}

describe('LikeGraph against a naive model', () => {
  for (const seed of SEEDS) {
    it(`agrees on every read, count and post after each batch of random operations (seed ${seed})`, () => {
      const run = new Run(seed);

      try {
        run.run();
      } catch (err) {
        throw new Error(`like graph model test failed with seed ${seed}: ${(err as Error).message}`, { cause: err });
      }
      if (process.env.GRAPH_MODEL_STATS) console.log(seed, run.stats, run.model.floor, run.graph.likeCount);
      // The run must have exercised what it is about.
      expect(run.stats.compactions).toBeGreaterThan(5);
      // Builds take several slices, with changes landing between them.
      expect(run.stats.slices).toBeGreaterThan(run.stats.compactions * 4);
      expect(run.stats.exactChecks).toBeGreaterThan(0);
      expect(run.stats.frozenReads).toBeGreaterThan(100);
      expect(run.model.floor).toBeGreaterThan(65_536);
      expect(run.graph.likeCount).toBeGreaterThan(0);
    });
  }
});

/** "a-b": the seeds a to b. */
function seedsFromEnv(range: string | undefined): number[] | undefined {
  const match = range ? /^(\d+)-(\d+)$/.exec(range) : null;
  if (!match) return undefined;
  const [from, to] = [Number(match[1]), Number(match[2])];
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
