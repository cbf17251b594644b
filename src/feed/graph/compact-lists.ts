/**
 * One direction of the like graph frozen into contiguous arrays: for each key (an
 * actor, or a post's row in the graph), the other side of its likes (posts, or
 * likers), newest first, in `start[key] .. start[key + 1]`.
 *
 * Why: following the linked lists costs a dependent cache miss per like, and a
 * ranking follows ~50,000 of them. Read from here, a list is one sequential scan.
 * The lists hold every like up to `throughId` that was live when they were built;
 * the graph reads newer likes from its linked lists, and skips likes gone since
 * (its floor, its dead bits). An entry whose `likeId` is 0 is a hole: a like
 * removed while the lists were being built.
 */
export class CompactLists {
  constructor(
    readonly throughId: number,
    readonly start: Int32Array,
    readonly other: Int32Array,
    readonly timeS: Uint32Array,
    readonly likeId: Float64Array,
  ) {}

  get keys(): number {
    return this.start.length - 1;
  }

  bytes(): number {
    return this.start.byteLength + this.other.byteLength + this.timeS.byteLength + this.likeId.byteLength;
  }
}

/** What a build reads: the live likes of an id range, oldest first, with the row of each like's post. */
export interface LikeSource {
  forEachLikeInRange(
    fromId: number,
    toId: number,
    visit: (id: number, actor: number, post: number, timeS: number, postRow: number) => void,
  ): void;
}

/** Like ids read per slice of work, between two checks of the clock. */
const IDS_PER_SLICE = 65_536;

/**
 * Builds the lists of both directions in slices, so the event loop keeps serving:
 * one pass counts each key's likes, a second places them. Likes removed between the
 * two passes leave holes; likes added meanwhile are past `throughId` and not wanted.
 */
export class CompactionBuild {
  private phase: 'count' | 'fill' | 'done' = 'count';
  private nextId: number;
  private readonly actorCount: Int32Array;
  private readonly postCount: Int32Array;
  private byActor: CompactLists | undefined;
  private byPost: CompactLists | undefined;

  constructor(
    private readonly source: LikeSource,
    private readonly fromId: number,
    readonly throughId: number,
    actors: number,
    postRows: number,
  ) {
    this.nextId = fromId;
    this.actorCount = new Int32Array(actors);
    this.postCount = new Int32Array(postRows);
  }

  /** Does one slice of work, then more until `deadlineMs` (performance.now()) passes; true once finished. */
  step(deadlineMs: number): boolean {
    do {
      if (this.phase === 'done') break;
      const toId = Math.min(this.throughId, this.nextId + IDS_PER_SLICE - 1);
      if (this.phase === 'count') this.count(this.nextId, toId);
      else this.fill(this.nextId, toId);
      this.nextId = toId + 1;
      if (this.nextId > this.throughId) this.nextPhase();
    } while (performance.now() < deadlineMs);
    return this.phase === 'done';
  }

  result(): { byActor: CompactLists; byPost: CompactLists } {
    if (!this.byActor || !this.byPost) throw new Error('compaction not finished');
    return { byActor: this.byActor, byPost: this.byPost };
  }

  private count(fromId: number, toId: number): void {
    const { actorCount, postCount } = this;
    this.source.forEachLikeInRange(fromId, toId, (_id, actor, _post, _timeS, postRow) => {
      actorCount[actor]!++;
      postCount[postRow]!++;
    });
  }

  private nextPhase(): void {
    if (this.phase === 'fill') {
      this.phase = 'done';
      return;
    }
    this.byActor = emptyLists(this.throughId, this.actorCount);
    this.byPost = emptyLists(this.throughId, this.postCount);
    // The counts become each key's next free position, filled from the end backwards:
    // the pass reads oldest first, and lists are newest first.
    for (let k = 0; k < this.actorCount.length; k++) this.actorCount[k] = this.byActor.start[k + 1]!;
    for (let k = 0; k < this.postCount.length; k++) this.postCount[k] = this.byPost.start[k + 1]!;
    this.phase = 'fill';
    this.nextId = this.fromId;
  }

  private fill(fromId: number, toId: number): void {
    const { actorCount: actorEnd, postCount: postEnd } = this;
    const byActor = this.byActor!;
    const byPost = this.byPost!;
    // A live like's post keeps its row: a row is freed only once all its likes are gone.
    this.source.forEachLikeInRange(fromId, toId, (id, actor, post, timeS, postRow) => {
      // Never below the key's start: a like live now was live when counted.
      const a = --actorEnd[actor]!;
      if (a >= byActor.start[actor]!) place(byActor, a, post, timeS, id);
      const p = --postEnd[postRow]!;
      if (p >= byPost.start[postRow]!) place(byPost, p, actor, timeS, id);
    });
  }
}

function emptyLists(throughId: number, counts: Int32Array): CompactLists {
  const start = new Int32Array(counts.length + 1);
  for (let k = 0; k < counts.length; k++) start[k + 1] = start[k]! + counts[k]!;
  const total = start[counts.length]!;
  return new CompactLists(throughId, start, new Int32Array(total), new Uint32Array(total), new Float64Array(total));
}

function place(lists: CompactLists, at: number, other: number, timeS: number, likeId: number): void {
  lists.other[at] = other;
  lists.timeS[at] = timeS;
  lists.likeId[at] = likeId;
}
