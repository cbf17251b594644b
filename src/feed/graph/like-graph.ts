/**
 * The retention window's likes in memory, as typed arrays. Each like is a slot
 * numbered by its `likes.id`; slots live in chunks, so appending is O(1) and pruning
 * the oldest likes frees whole chunks.
 *
 * Two linked lists run through the slots, newest first: one per actor (giving the
 * posts it liked) and one per post (giving its likers). Reading a list touches only
 * its slots. Like ids pass 2^31 within weeks at the firehose rate, so the links are
 * float64 (exact to 2^53).
 *
 * A slot is 32 bytes in one buffer: both links, then actor, post, time and the
 * post's row (below). Following links is a dependent cache miss per like, so from
 * time to time the lists are also frozen into contiguous arrays (compact-lists.ts),
 * and a read follows links only through the likes added since.
 *
 * Actors are indexed by their database id (accounts are never pruned, so those ids
 * are bounded by the accounts seen). Posts are not: post ids are never reused, so
 * arrays indexed by them would grow with every post ever seen, not with the window.
 * The graph holds a post while it has live likes, in a row of its own per-post
 * arrays found through an IntMap; the first like brings the post in (with its author
 * and whether it is deleted), and when its last like goes, the row is free for
 * another post. With the compacted lists: about 64 bytes per like, plus 13 per actor
 * id and about 40 per post in the window.
 */
import { CompactionBuild, type CompactLists } from './compact-lists.js';
import { IntMap } from './int-map.js';

const CHUNK_SIZE = 1 << 16;
const SLOT_BYTES = 32;
/** Float64 words of a slot: the links. */
const F64_PER_SLOT = SLOT_BYTES / 8;
const PREV_BY_ACTOR = 0;
const PREV_BY_POST = 1;
/** 32-bit words of a slot: after the two links, actor, post, time (seconds, unsigned) and post row. */
const I32_PER_SLOT = SLOT_BYTES / 4;
const ACTOR = 4;
const POST = 5;
const TIME = 6;
const POST_ROW = 7;
/** A like whose slot time is 0 is gone (unliked or pruned). */
const DEAD = 0;

/** Three views of one chunk's buffer, and a bit per slot set when its like is removed. */
interface Chunk {
  links: Float64Array;
  ints: Int32Array;
  times: Uint32Array;
  dead: Uint8Array;
}

const chunkIndex = (id: number): number => Math.floor(id / CHUNK_SIZE);
// Not `id % CHUNK_SIZE`: on ids that are doubles, % is a slow fmod.
const slotIndex = (id: number): number => id - chunkIndex(id) * CHUNK_SIZE;

/**
 * The output of a list read, reused across reads: the ids on the other side (posts of
 * an actor, or likers of a post) and the like times, newest first, in `length` entries.
 */
export class LikeList {
  ids = new Int32Array(256);
  timesS = new Uint32Array(256);
  length = 0;

  /** Doubles the room, keeping the entries; returns the new arrays. */
  grow(): [Int32Array, Uint32Array] {
    this.ids = resized(this.ids, this.ids.length * 2);
    this.timesS = resized(this.timesS, this.timesS.length * 2);
    return [this.ids, this.timesS];
  }
}

/** Where a list read stops, besides its length cap. */
export interface ReadLimits {
  /** Stop at the first like older than this (lists are newest first)... */
  notBeforeS?: number;
  /** ...but only once this many were read. */
  atLeast?: number;
}

export const POST_GONE = 1;

export class LikeGraph {
  private chunks: Array<Chunk | undefined> = [];
  /** The lists as of the last compaction; newer likes are read through the links. */
  private byActor: CompactLists | undefined;
  private byPost: CompactLists | undefined;
  /** Likes with ids at or below this are gone (pruned). */
  private floorId = 0;
  private maxId = 0;
  private liveLikes = 0;

  private actorHead = new Float64Array(1024);
  private actorLikes = new Int32Array(1024);
  private actorInactive = new Uint8Array(1024);
  /** Post id → its row in the per-post arrays, for the posts with live likes. */
  private readonly postRows = new IntMap();
  private postHead = new Float64Array(1024);
  private postLikes = new Int32Array(1024);
  private postAuthor = new Int32Array(1024);
  private postFlags = new Uint8Array(1024);
  /** Rows freed by posts whose last like went, reused before new ones. */
  private freeRows = new Int32Array(1024);
  private freeRowCount = 0;
  private rowsUsed = 0;

  get likeCount(): number {
    return this.liveLikes;
  }

  get newestLikeId(): number {
    return this.maxId;
  }

  /** Posts with live likes: the rows in use. */
  get postCount(): number {
    return this.postRows.size;
  }

  /** Whether the graph holds the post: it has live likes. */
  holdsPost(post: number): boolean {
    return this.postRows.get(post) >= 0;
  }

  /**
   * Adds a like; ids must arrive in increasing order (the database's AUTOINCREMENT).
   * `author` and `postGone` describe the post, and count only if this like brings it
   * into the graph (a post already held keeps what it has; see markPostGone).
   */
  addLike(id: number, actor: number, post: number, timeS: number, author = 0, postGone = false): void {
    if (id <= this.maxId) throw new Error(`like ${id} arrived after ${this.maxId}`);
    this.ensureActor(actor);
    this.ensureActor(author);
    const row = this.rowOfNewLike(post, author, postGone);
    this.maxId = id;
    const chunk = this.chunkFor(id);
    const f = slotIndex(id) * F64_PER_SLOT;
    const n = slotIndex(id) * I32_PER_SLOT;
    chunk.ints[n + ACTOR] = actor;
    chunk.ints[n + POST] = post;
    chunk.ints[n + POST_ROW] = row;
    chunk.times[n + TIME] = timeS;
    chunk.links[f + PREV_BY_ACTOR] = this.actorHead[actor]!;
    chunk.links[f + PREV_BY_POST] = this.postHead[row]!;
    this.actorHead[actor] = id;
    this.postHead[row] = id;
    this.actorLikes[actor]!++;
    this.postLikes[row]!++;
    this.liveLikes++;
  }

  /** An unlike: the slot stays linked but is skipped from now on. */
  removeLike(id: number): void {
    const chunk = this.chunkOf(id);
    if (!chunk) return;
    const n = slotIndex(id) * I32_PER_SLOT;
    if (chunk.times[n + TIME] === DEAD) return;
    chunk.times[n + TIME] = DEAD;
    chunk.dead[slotIndex(id) >> 3]! |= 1 << (slotIndex(id) & 7);
    this.actorLikes[chunk.ints[n + ACTOR]!]!--;
    const row = chunk.ints[n + POST_ROW]!;
    if (--this.postLikes[row]! === 0) this.releaseRow(chunk.ints[n + POST]!, row);
    this.liveLikes--;
  }

  /** Drops every like at or below `id` (retention), freeing whole chunks. */
  pruneThrough(id: number): void {
    const through = Math.min(id, this.maxId);
    for (let like = this.floorId + 1; like <= through; like++) {
      // A first prune after a load can start far below the first chunk: jump over holes.
      if (!this.chunks[chunkIndex(like)]) {
        like = (chunkIndex(like) + 1) * CHUNK_SIZE - 1;
        continue;
      }
      this.removeLike(like);
    }
    this.floorId = Math.max(this.floorId, through);
    const firstKept = chunkIndex(this.floorId + 1);
    for (let c = 0; c < firstKept; c++) this.chunks[c] = undefined;
  }

  /** A deleted post; one the graph does not hold is left alone (a later like brings its flag). */
  markPostGone(post: number): void {
    const row = this.postRows.get(post);
    if (row >= 0) this.postFlags[row] = POST_GONE;
  }

  setActorActive(actor: number, active: boolean): void {
    this.ensureActor(actor);
    this.actorInactive[actor] = active ? 0 : 1;
  }

  isActorActive(actor: number): boolean {
    return actor < this.actorInactive.length && this.actorInactive[actor] === 0;
  }

  /** A post with live likes, not deleted, by an active author. */
  isPostLive(post: number): boolean {
    const row = this.postRows.get(post);
    return row >= 0 && this.postFlags[row] === 0 && this.isActorActive(this.postAuthor[row]!);
  }

  /** The author of a post the graph holds; 0 for others. */
  postAuthorOf(post: number): number {
    const row = this.postRows.get(post);
    return row >= 0 ? this.postAuthor[row]! : 0;
  }

  likesOfActor(actor: number): number {
    return actor < this.actorLikes.length ? this.actorLikes[actor]! : 0;
  }

  likesOfPost(post: number): number {
    const row = this.postRows.get(post);
    return row >= 0 ? this.postLikes[row]! : 0;
  }

  /**
   * Reads an actor's live likes into `out` (posts and times), newest first, at most
   * `max`. Returns how many entries were looked at (the work done).
   */
  readLikesOfActor(actor: number, max: number, out: LikeList, limits: ReadLimits = {}): number {
    out.length = 0;
    return actor < this.actorHead.length ? this.read(this.actorHead[actor]!, PREV_BY_ACTOR, POST, this.byActor, actor, max, out, limits) : 0;
  }

  /** Reads a post's live likers into `out` (actors and times), newest first; as above. */
  readLikersOfPost(post: number, max: number, out: LikeList, limits: ReadLimits = {}): number {
    out.length = 0;
    const row = this.postRows.get(post);
    return row >= 0 ? this.read(this.postHead[row]!, PREV_BY_POST, ACTOR, this.byPost, row, max, out, limits) : 0;
  }

  /**
   * One list: through the links (word `link`, reporting int word `other`) down to the
   * compacted likes, then on through the compacted list of `key` (an actor, or a post's row).
   */
  private read(
    head: number,
    link: number,
    other: number,
    compact: CompactLists | undefined,
    key: number,
    max: number,
    out: LikeList,
    limits: ReadLimits,
  ): number {
    const notBeforeS = limits.notBeforeS ?? 0;
    const atLeast = limits.atLeast ?? 0;
    const compactedThrough = compact?.throughId ?? 0;
    // Locals, not fields, inside the loops: this is the ranker's hot path.
    const floorId = this.floorId;
    let ids: Int32Array = out.ids;
    let times: Uint32Array = out.timesS;
    let count = 0;
    let touched = 0;
    let id = head;
    for (; id > floorId && id > compactedThrough && count < max; ) {
      const chunk = this.chunks[chunkIndex(id)]!;
      const slot = slotIndex(id);
      const n = slot * I32_PER_SLOT;
      touched++;
      const timeS = chunk.times[n + TIME]!;
      if (timeS !== DEAD) {
        if (timeS < notBeforeS && count >= atLeast) {
          out.length = count;
          return touched;
        }
        if (count === ids.length) [ids, times] = out.grow();
        ids[count] = chunk.ints[n + other]!;
        times[count++] = timeS;
      }
      id = chunk.links[slot * F64_PER_SLOT + link]!;
    }
    if (compact && id > floorId && key < compact.keys) {
      const end = compact.start[key + 1]!;
      for (let j = compact.start[key]!; j < end && count < max; j++) {
        const likeId = compact.likeId[j]!;
        touched++;
        if (likeId <= floorId || this.isRemoved(likeId)) continue;
        const timeS = compact.timeS[j]!;
        if (timeS < notBeforeS && count >= atLeast) break;
        if (count === ids.length) [ids, times] = out.grow();
        ids[count] = compact.other[j]!;
        times[count++] = timeS;
      }
    }
    out.length = count;
    return touched;
  }

  /** A like at or below the newest id that was unliked or pruned (holes, id 0, count as removed). */
  private isRemoved(id: number): boolean {
    const chunk = this.chunks[chunkIndex(id)];
    if (!chunk) return true;
    const slot = slotIndex(id);
    return (chunk.dead[slot >> 3]! & (1 << (slot & 7))) !== 0;
  }

  /** Likes added since the last compaction: read through the links. */
  get likesSinceCompaction(): number {
    return this.maxId - Math.max(this.floorId, this.byActor?.throughId ?? 0);
  }

  /** Starts freezing the current lists; the caller runs `step` until done, then `finishCompaction`. */
  startCompaction(): CompactionBuild {
    return new CompactionBuild(this, this.floorId + 1, this.maxId, this.actorHead.length, this.rowsUsed);
  }

  finishCompaction(build: CompactionBuild): void {
    ({ byActor: this.byActor, byPost: this.byPost } = build.result());
  }

  /** Calls `visit` for every live like with id in [fromId, toId], oldest first (`postRow`: the post's row, for compaction). */
  forEachLikeInRange(
    fromId: number,
    toId: number,
    visit: (id: number, actor: number, post: number, timeS: number, postRow: number) => void,
  ): void {
    for (let id = Math.max(fromId, this.floorId + 1); id <= Math.min(toId, this.maxId); id++) {
      const chunk = this.chunks[chunkIndex(id)];
      if (!chunk) {
        id = (chunkIndex(id) + 1) * CHUNK_SIZE - 1; // pruned: jump to the next chunk
        continue;
      }
      const n = slotIndex(id) * I32_PER_SLOT;
      const timeS = chunk.times[n + TIME]!;
      if (timeS !== DEAD) visit(id, chunk.ints[n + ACTOR]!, chunk.ints[n + POST]!, timeS, chunk.ints[n + POST_ROW]!);
    }
  }

  /** Calls `visit(post, actor, timeS)` for every live like with id above `afterId`, oldest first. */
  forEachLikeSince(afterId: number, visit: (post: number, actor: number, timeS: number) => void): void {
    this.forEachLikeInRange(afterId + 1, this.maxId, (_id, actor, post, timeS) => visit(post, actor, timeS));
  }

  /** Bytes held by the typed arrays: the figure the memory target is about. */
  memoryBytes(): number {
    const chunkBytes = this.chunks.reduce((sum, c) => sum + (c ? CHUNK_SIZE * SLOT_BYTES + c.dead.byteLength : 0), 0);
    const compactBytes = (this.byActor?.bytes() ?? 0) + (this.byPost?.bytes() ?? 0);
    const postBytes = this.postHead.length * 17 + this.freeRows.byteLength + this.postRows.bytes();
    return chunkBytes + compactBytes + this.actorHead.length * 13 + postBytes;
  }

  private chunkOf(id: number): Chunk | undefined {
    return id > this.floorId && id <= this.maxId ? this.chunks[chunkIndex(id)] : undefined;
  }

  private chunkFor(id: number): Chunk {
    const c = chunkIndex(id);
    let chunk = this.chunks[c];
    if (!chunk) {
      const buffer = new ArrayBuffer(CHUNK_SIZE * SLOT_BYTES);
      chunk = { links: new Float64Array(buffer), ints: new Int32Array(buffer), times: new Uint32Array(buffer), dead: new Uint8Array(CHUNK_SIZE / 8) };
      this.chunks[c] = chunk;
    }
    return chunk;
  }

  private ensureActor(actor: number): void {
    if (actor < this.actorHead.length) return;
    const size = grow(this.actorHead.length, actor);
    this.actorHead = resized(this.actorHead, size);
    this.actorLikes = resized(this.actorLikes, size);
    this.actorInactive = resized(this.actorInactive, size);
  }

  /** The post's row, taking a free one (or a new one) when the post is not held yet. */
  private rowOfNewLike(post: number, author: number, gone: boolean): number {
    const free = this.freeRowCount > 0 ? this.freeRows[this.freeRowCount - 1]! : this.rowsUsed;
    const row = this.postRows.getOrAdd(post, free);
    if (row !== free) return row;
    if (this.freeRowCount > 0) this.freeRowCount--;
    else {
      this.rowsUsed++;
      if (row === this.postHead.length) this.growRows();
    }
    this.postHead[row] = 0;
    this.postLikes[row] = 0;
    this.postAuthor[row] = author;
    this.postFlags[row] = gone ? POST_GONE : 0;
    return row;
  }

  /** The post's last like went: its list is all dead likes, and its row can serve another post. */
  private releaseRow(post: number, row: number): void {
    this.postRows.delete(post);
    this.freeRows[this.freeRowCount++] = row;
  }

  private growRows(): void {
    const size = this.postHead.length * 2;
    this.postHead = resized(this.postHead, size);
    this.postLikes = resized(this.postLikes, size);
    this.postAuthor = resized(this.postAuthor, size);
    this.postFlags = resized(this.postFlags, size);
    this.freeRows = resized(this.freeRows, size);
  }
}

function grow(current: number, needed: number): number {
  let size = current;
  while (size <= needed) size *= 2;
  return size;
}

function resized<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(array: T, size: number): T {
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  return next;
}
