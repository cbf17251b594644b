/**
 * The retention window's likes in memory, as typed arrays, in two parts.
 *
 * Young likes (the newest; GraphSync keeps at least 400,000 of them) each have a
 * 32-byte slot numbered by its `likes.id`, in chunks of 65,536: two links (float64:
 * like ids pass 2^31 within weeks), then actor, time and the post's row (one word is
 * spare). The links run two lists through the slots, newest first: one per actor (the
 * posts it liked) and one per post (its likers). Appending is O(1).
 *
 * A compaction (compaction-build.ts) freezes every like so far into contiguous lists
 * per actor and per post (compact-lists.ts, 8 bytes a like each way), and their
 * liveness and time into a 2-byte stamp per id (like-stamps.ts), then frees the slots
 * of all but the newest (those stay for forEachLikeSince). A read follows the links
 * through the likes added since, then scans the key's compacted list, which is fast
 * (sequential) even for a window smaller than the slots kept. About 18 bytes a frozen
 * like; the likes at or below `compactedThrough` have no slot.
 *
 * Counts. likesOfActor and likesOfPost are exact through adds and unlikes, and for
 * young likes through pruning. Pruning a frozen like cannot say whose it was, so those
 * counts stay high until the next compaction brings them down; they are never below
 * the key's live likes, and a key whose newest like is pruned counts 0.
 *
 * Actors are indexed by their database id: `actors.id` is a plain rowid (not
 * AUTOINCREMENT, and accounts are never deleted), so ids count the accounts ever seen
 * and stay dense; they are held as int32, up to MAX_ACTOR_ID. Posts are not: post ids
 * are AUTOINCREMENT over every post ever seen, so they pass 2^31 and arrays indexed by
 * them would grow with every post. The graph holds a post while it has live likes, in
 * a row of its own per-post arrays found through an IntMap (whole ids as keys); the
 * first like brings the post in (with its author and whether it is deleted), and when
 * its last like goes, the row is free for another post. Slots and lists name a post by
 * its row; a read turns rows back into post ids (the IntMap keeps each row's id), so callers only ever see
 * database ids. A row read that way is right: a like is live only while its post holds
 * the row. A post whose likes were all pruned while frozen keeps its row until the
 * next compaction (or its next like), but reads as not held.
 *
 * Like and post ids may be any safe integer (below 2^53), as better-sqlite3 returns them.
 */
import { BY_ACTOR, CompactionBuild, type CompactionHost, type Direction, type VisitLike } from './compaction-build.js';
import type { CompactLists } from './compact-lists.js';
import { ChunkTable } from './chunk-table.js';
import { IntMap, type IntMapState, NO_KEY } from './int-map.js';
import { LikeStamps, type LikeStampsState } from './like-stamps.js';

const CHUNK_SIZE = 1 << 16;
const SLOT_BYTES = 32;
/** Float64 words of a slot: the links. */
const F64_PER_SLOT = SLOT_BYTES / 8;
const PREV_BY_ACTOR = 0;
const PREV_BY_POST = 1;
/** 32-bit words of a slot: after the two links, actor, a spare word, time (seconds, unsigned) and post row. */
const I32_PER_SLOT = SLOT_BYTES / 4;
const ACTOR = 4;
const TIME = 6;
const POST_ROW = 7;
/** A like whose slot time is 0 is gone (unliked or pruned), or never came. */
const DEAD = 0;
/** Bytes per actor id: head link, count, inactive flag. */
const ACTOR_BYTES = 8 + 4 + 1;
/** Bytes per post row: head link, count, author, flags (its post id is postRows', counted there). */
const POST_ROW_BYTES = 8 + 4 + 4 + 1;
/** The highest actor id the int32 arrays hold (2^31 accounts would take 28 GB of them anyway). */
export const MAX_ACTOR_ID = 0x7fff_ffff;

/** Three views of one chunk's buffer. */
interface Chunk {
  links: Float64Array;
  ints: Int32Array;
  times: Uint32Array;
}

const chunkIndex = (id: number): number => Math.floor(id / CHUNK_SIZE);
// Not `id % CHUNK_SIZE`: on ids that are doubles, % is a slow fmod.
const slotIndex = (id: number): number => id - chunkIndex(id) * CHUNK_SIZE;

/**
 * The output of a list read, reused across reads: the ids on the other side (posts of
 * an actor, or their rows for readPostRowsOfActor, or likers of a post; float64, as post
 * ids pass 2^31) and the like times, newest first, in `length` entries.
 */
export class LikeList {
  ids = new Float64Array(256);
  timesS = new Uint32Array(256);
  length = 0;

  /** Doubles the room, keeping the entries; returns the new arrays. */
  grow(): [Float64Array, Uint32Array] {
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

export interface CompactionOptions {
  /**
   * Keep the slots of at least this many of the newest like ids (forEachLikeSince reads
   * only slots). Their likes are frozen into the lists all the same, so reads scan them
   * there; the slots only stay for forEachLikeSince. Without it, every slot is freed.
   */
  keepNewest?: number;
}

export const POST_GONE = 1;

/**
 * Everything a LikeGraph holds, its typed arrays as they are (no copy): what a snapshot
 * file saves (graph-snapshot.ts) and a start reads back instead of the likes table.
 */
export interface LikeGraphState {
  /** The slot chunks held, each one buffer (seen as float64). */
  slotChunks: Array<{ index: number; links: Float64Array }>;
  firstChunk: number;
  youngFrom: number;
  floor: number;
  maxId: number;
  liveLikes: number;
  prunedFrozen: number;
  stamps: LikeStampsState;
  byActor: CompactLists | undefined;
  byPost: CompactLists | undefined;
  actorHead: Float64Array<ArrayBuffer>;
  actorLikes: Int32Array<ArrayBuffer>;
  actorInactive: Uint8Array<ArrayBuffer>;
  postRows: IntMapState;
  postHead: Float64Array<ArrayBuffer>;
  postLikes: Int32Array<ArrayBuffer>;
  postAuthor: Int32Array<ArrayBuffer>;
  postFlags: Uint8Array<ArrayBuffer>;
  freeRows: Int32Array<ArrayBuffer>;
  freeRowCount: number;
  rowsUsed: number;
}

export class LikeGraph {
  private chunks = new ChunkTable<Chunk>();
  /** Chunks below this one are all freed. */
  private firstChunk = 0;
  /** Likes from this id up (and above the floor) have slots; older ones have none. */
  private youngFrom = 1;
  /** The first slot the compaction in progress leaves (its likes frozen as well). */
  private slotsKeptFrom = 1;
  private stamps = new LikeStamps();
  /** The frozen lists; a read takes likes newer than their throughId from the links. */
  private byActor: CompactLists | undefined;
  private byPost: CompactLists | undefined;
  private building: CompactionBuild | undefined;
  private peakBytes = 0;
  private prunedFrozen = 0;
  /** Likes with ids at or below this are gone (pruned). */
  private floor = 0;
  private maxId = 0;
  private liveLikes = 0;

  private actorHead = new Float64Array(1024);
  private actorLikes = new Int32Array(1024);
  private actorInactive = new Uint8Array(1024);
  /** Post id → its row in the per-post arrays, for the posts with live likes; and each row's post (NO_KEY: free). */
  private postRows = new IntMap();
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

  /** Likes at or below this id are gone. */
  get floorId(): number {
    return this.floor;
  }

  /** Likes at or below this id have no slot (they are read from the compacted lists, as are the kept slots' likes). */
  get compactedThrough(): number {
    return this.youngFrom - 1;
  }

  /** Post rows in use: the posts with live likes, and any whose likes were all pruned since the last compaction. */
  get postCount(): number {
    return this.postRows.size;
  }

  /** Whether the graph holds the post: it has live likes (its newest like is not pruned). */
  holdsPost(post: number): boolean {
    return this.heldRow(post) >= 0;
  }

  /**
   * Adds a like; ids must arrive in increasing order (the database's AUTOINCREMENT).
   * `author` and `postGone` describe the post, and count only if this like brings it
   * into the graph (a post already held keeps what it has; see markPostGone).
   */
  addLike(id: number, actor: number, post: number, timeS: number, author = 0, postGone = false): void {
    if (id <= this.maxId) throw new Error(`like ${id} arrived after ${this.maxId}`);
    // The first like: none below it will come, so stamps and slots start here, not at id 1
    // (a database's lowest like id is past 2^31 after months: stamping up to it would take GBs).
    if (this.maxId === 0 && id - 1 > this.floor) {
      this.floor = id - 1;
      this.stamps.pruneThrough(this.floor);
    }
    this.ensureActor(actor);
    this.ensureActor(author);
    const row = this.rowOfNewLike(post, author, postGone);
    // Every like the actor had is pruned: its count may still hold frozen ones.
    if (this.actorHead[actor]! <= this.floor) this.actorLikes[actor] = 0;
    this.maxId = id;
    const chunk = this.chunkFor(id);
    const f = slotIndex(id) * F64_PER_SLOT;
    const n = slotIndex(id) * I32_PER_SLOT;
    chunk.ints[n + ACTOR] = actor;
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

  /**
   * An unlike, of the like `id` by `actor` on `post` (the like's row says which: a
   * frozen like has no slot to tell). Removing a like twice, or one the graph does not
   * hold, changes nothing.
   */
  removeLike(id: number, actor: number, post: number): void {
    if (id <= this.floor || id > this.maxId) return;
    if (id >= this.youngFrom) {
      this.removeYoung(id, actor, post);
      return;
    }
    if (!this.stamps.kill(id)) return;
    this.liveLikes--;
    if (actor < this.actorLikes.length && this.actorLikes[actor]! > 0) this.actorLikes[actor]!--;
    const row = this.postRows.get(post);
    if (row >= 0 && this.postLikes[row]! > 0 && --this.postLikes[row]! === 0) this.releaseRow(post, row);
  }

  /**
   * Drops every like at or below `id` (retention), freeing whole chunks. Young likes
   * leave their keys' counts exactly; frozen ones only the total (see the header).
   */
  pruneThrough(id: number): void {
    const through = Math.min(id, this.maxId);
    if (through <= this.floor) return;
    const frozenTo = Math.min(through, this.youngFrom - 1);
    if (frozenTo > this.floor) {
      const live = this.stamps.countLive(this.floor + 1, frozenTo);
      this.liveLikes -= live;
      this.prunedFrozen += live;
    }
    for (let like = Math.max(this.floor + 1, this.youngFrom); like <= through; like++) {
      // A first prune after a load can start far below the first chunk: jump over holes.
      if (!this.chunks.get(chunkIndex(like))) {
        like = (chunkIndex(like) + 1) * CHUNK_SIZE - 1;
        continue;
      }
      this.removeYoung(like);
    }
    this.floor = through;
    this.stamps.pruneThrough(through);
    this.freeSlotChunks();
  }

  /** A deleted post; one the graph does not hold is left alone (a later like brings its flag). */
  markPostGone(post: number): void {
    const row = this.heldRow(post);
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
    const row = this.heldRow(post);
    return row >= 0 && this.postFlags[row] === 0 && this.isActorActive(this.postAuthor[row]!);
  }

  /** The author of a post the graph holds; 0 for others. */
  postAuthorOf(post: number): number {
    const row = this.heldRow(post);
    return row >= 0 ? this.postAuthor[row]! : 0;
  }

  /** The actor's live likes, or more while frozen likes pruned since the last compaction are still counted. */
  likesOfActor(actor: number): number {
    return actor < this.actorLikes.length && this.actorHead[actor]! > this.floor ? this.actorLikes[actor]! : 0;
  }

  /** The post's live likes, or more (as likesOfActor). */
  likesOfPost(post: number): number {
    const row = this.heldRow(post);
    return row >= 0 ? this.postLikes[row]! : 0;
  }

  /**
   * Reads an actor's live likes into `out` (posts and times), newest first, at most
   * `max`. Returns how many entries were looked at (the work done).
   */
  readLikesOfActor(actor: number, max: number, out: LikeList, limits: ReadLimits = {}): number {
    return this.readActor(actor, max, out, limits, this.postRows.keys);
  }

  /**
   * As readLikesOfActor, but each post as its row (see likesOfPostRow, postIdOfRow): for
   * a ranking, which looks its candidates up by row instead of hashing their ids. A row
   * names the post only until the graph changes.
   */
  readPostRowsOfActor(actor: number, max: number, out: LikeList, limits: ReadLimits = {}): number {
    return this.readActor(actor, max, out, limits, undefined);
  }

  /** The live likes (or more, as likesOfPost) of the post in a row read by readPostRowsOfActor. */
  likesOfPostRow(row: number): number {
    return this.postLikes[row]!;
  }

  /** The post id of a row read by readPostRowsOfActor. */
  postIdOfRow(row: number): number {
    return this.postRows.keyOf(row);
  }

  /** Reads a post's live likers into `out` (actors and times), newest first; as above. */
  readLikersOfPost(post: number, max: number, out: LikeList, limits: ReadLimits = {}): number {
    out.length = 0;
    const row = this.postRows.get(post);
    return row >= 0 ? this.read(this.postHead[row]!, PREV_BY_POST, ACTOR, this.byPost, row, max, out, limits) : 0;
  }

  /** An actor's list, with each post's row turned into its id through `postOf`, or not. */
  private readActor(actor: number, max: number, out: LikeList, limits: ReadLimits, postOf: Float64Array | undefined): number {
    out.length = 0;
    return actor < this.actorHead.length ? this.read(this.actorHead[actor]!, PREV_BY_ACTOR, POST_ROW, this.byActor, actor, max, out, limits, postOf) : 0;
  }

  /**
   * One list: through the links (word `link`, reporting int word `other`) down to the
   * compacted likes, then on through the compacted list of `key` (an actor, or a post's
   * row), whose entries take their time and liveness from the stamps. With `postOf`,
   * what is reported (post rows) is turned into post ids.
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
    postOf?: Float64Array,
  ): number {
    const notBeforeS = limits.notBeforeS ?? 0;
    const atLeast = limits.atLeast ?? 0;
    const compactedThrough = compact?.throughId ?? 0;
    // Locals, not fields, inside the loops: this is the ranker's hot path.
    const floorId = this.floor;
    let ids: Float64Array = out.ids;
    let times: Uint32Array = out.timesS;
    let count = 0;
    let touched = 0;
    let id = head;
    for (; id > floorId && id > compactedThrough && count < max; ) {
      const chunk = this.chunks.get(chunkIndex(id))!;
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
        const key = chunk.ints[n + other]!;
        ids[count] = postOf ? postOf[key]! : key;
        times[count++] = timeS;
      }
      id = chunk.links[slot * F64_PER_SLOT + link]!;
    }
    if (compact && id > floorId && key < compact.keys) {
      const { stamps } = this;
      const { idBase, idOffset } = compact;
      const end = compact.start[key + 1]!;
      for (let j = compact.start[key]!; j < end && count < max; j++) {
        const likeId = idBase + idOffset[j]!;
        touched++;
        if (likeId <= floorId) continue;
        const timeS = stamps.timeIfLive(likeId);
        if (timeS < 0) continue;
        if (timeS < notBeforeS && count >= atLeast) break;
        if (count === ids.length) [ids, times] = out.grow();
        const key = compact.other[j]!;
        ids[count] = postOf ? postOf[key]! : key;
        times[count++] = timeS;
      }
    }
    out.length = count;
    return touched;
  }

  /** Likes added since the last compaction: read through the links. */
  get likesSinceCompaction(): number {
    return this.maxId - Math.max(this.floor, this.byActor?.throughId ?? 0);
  }

  /** Live frozen likes pruned since the last compaction began: what per-key counts may be over by. */
  get prunedSinceCompaction(): number {
    return this.prunedFrozen;
  }

  /** The most memoryBytes() reached during compactions (while a build holds old and new lists). */
  get compactionPeakBytes(): number {
    return this.peakBytes;
  }

  /**
   * Starts freezing the likes in slots (all, or all but the newest `keepNewest`); the
   * caller runs `step` until done, then `finishCompaction`. A build started replaces
   * one left unfinished.
   */
  startCompaction(options: CompactionOptions = {}): CompactionBuild {
    // Never below what either direction has (a build left half done may have swapped one in).
    const through = Math.max(this.maxId, this.youngFrom - 1, this.byActor?.throughId ?? 0, this.byPost?.throughId ?? 0);
    this.slotsKeptFrom = options.keepNewest === undefined ? through + 1 : Math.max(1, this.maxId - options.keepNewest + 1);
    this.prunedFrozen = 0;
    this.building = new CompactionBuild(this.compactionHost(), through);
    return this.building;
  }

  /**
   * Frees the slots of the likes now frozen, and brings each key's count down to what
   * the new lists and the slots above them hold (both at least its live likes); a post
   * left with neither gives up its row.
   */
  finishCompaction(build: CompactionBuild): void {
    if (build !== this.building) throw new Error('compaction: not the build in progress');
    const young = build.youngCounts();
    const byActor = this.byActor!;
    const byPost = this.byPost!;
    for (let a = 0; a < young.actors.length; a++) {
      this.actorLikes[a] = Math.min(this.actorLikes[a]!, byActor.lengthOf(a) + young.actors[a]!);
    }
    for (let row = 0; row < young.postRows.length; row++) {
      const post = this.postRows.keyOf(row);
      if (post === NO_KEY) continue;
      const likes = Math.min(this.postLikes[row]!, byPost.lengthOf(row) + young.postRows[row]!);
      this.postLikes[row] = likes;
      if (likes === 0) this.releaseRow(post, row);
    }
    // The newest slots stay (see CompactionOptions): their likes are in the lists too.
    this.youngFrom = Math.max(this.youngFrom, Math.min(build.throughId + 1, this.slotsKeptFrom));
    this.building = undefined;
    this.freeSlotChunks();
    this.noteMemory();
  }

  /**
   * Calls `visit` for every live like in slots with id in [fromId, toId], oldest first
   * (`postRow`: the post's row). Frozen likes (at or below compactedThrough) are not
   * visited.
   */
  forEachLikeInRange(fromId: number, toId: number, visit: VisitLike): void {
    for (let id = Math.max(fromId, this.floor + 1, this.youngFrom); id <= Math.min(toId, this.maxId); id++) {
      const chunk = this.chunks.get(chunkIndex(id));
      if (!chunk) {
        id = (chunkIndex(id) + 1) * CHUNK_SIZE - 1; // pruned or never used: jump to the next chunk
        continue;
      }
      const n = slotIndex(id) * I32_PER_SLOT;
      const timeS = chunk.times[n + TIME]!;
      if (timeS !== DEAD) visit(id, chunk.ints[n + ACTOR]!, chunk.ints[n + POST_ROW]!, timeS);
    }
  }

  /**
   * Calls `visit(post, actor, timeS)` for every live like with id above `afterId`,
   * oldest first; only likes still in slots (above compactedThrough), so a caller
   * reading the newest N likes needs N <= the `keepNewest` its compactions use.
   */
  forEachLikeSince(afterId: number, visit: (post: number, actor: number, timeS: number) => void): void {
    const postOf = this.postRows.keys;
    this.forEachLikeInRange(afterId + 1, this.maxId, (_id, actor, row, timeS) => visit(postOf[row]!, actor, timeS));
  }

  /** Bytes held by the typed arrays, a compaction's under way included: the figure the memory target is about. */
  memoryBytes(): number {
    const slotBytes = this.chunks.count * CHUNK_SIZE * SLOT_BYTES;
    const frozenBytes = this.stamps.bytes() + (this.byActor?.bytes() ?? 0) + (this.byPost?.bytes() ?? 0) + (this.building?.bytes() ?? 0);
    const postBytes = this.postHead.length * POST_ROW_BYTES + this.freeRows.byteLength + this.postRows.bytes();
    return slotBytes + frozenBytes + this.actorHead.length * ACTOR_BYTES + postBytes;
  }

  /**
   * The graph's state, sharing its arrays: valid while nothing changes the graph (no
   * like, change, prune or compaction). Not while a compaction is under way: its lists
   * are half built.
   */
  exportState(): LikeGraphState {
    if (this.building) throw new Error('like graph state: a compaction is under way');
    const slotChunks: LikeGraphState['slotChunks'] = [];
    this.chunks.forEach((chunk, index) => slotChunks.push({ index, links: chunk.links }));
    return {
      slotChunks,
      firstChunk: this.firstChunk,
      youngFrom: this.youngFrom,
      floor: this.floor,
      maxId: this.maxId,
      liveLikes: this.liveLikes,
      prunedFrozen: this.prunedFrozen,
      stamps: this.stamps.exportState(),
      byActor: this.byActor,
      byPost: this.byPost,
      actorHead: this.actorHead,
      actorLikes: this.actorLikes,
      actorInactive: this.actorInactive,
      postRows: this.postRows.exportState(),
      postHead: this.postHead,
      postLikes: this.postLikes,
      postAuthor: this.postAuthor,
      postFlags: this.postFlags,
      freeRows: this.freeRows,
      freeRowCount: this.freeRowCount,
      rowsUsed: this.rowsUsed,
    };
  }

  /**
   * Becomes the graph `state` describes (from exportState, here or in an earlier process),
   * taking its arrays over. Checks the state first: on a throw, the graph is unchanged.
   */
  restoreState(state: LikeGraphState): void {
    checkGraphState(state);
    const stamps = new LikeStamps();
    stamps.restoreState(state.stamps);
    const postRows = new IntMap();
    postRows.restoreState(state.postRows);
    const chunks = new ChunkTable<Chunk>();
    for (const { index, links } of state.slotChunks) {
      chunks.set(index, { links, ints: new Int32Array(links.buffer), times: new Uint32Array(links.buffer) });
    }
    this.chunks = chunks;
    this.firstChunk = state.firstChunk;
    this.youngFrom = state.youngFrom;
    this.slotsKeptFrom = state.youngFrom;
    this.stamps = stamps;
    this.postRows = postRows;
    this.byActor = state.byActor;
    this.byPost = state.byPost;
    this.building = undefined;
    this.prunedFrozen = state.prunedFrozen;
    this.floor = state.floor;
    this.maxId = state.maxId;
    this.liveLikes = state.liveLikes;
    this.actorHead = state.actorHead;
    this.actorLikes = state.actorLikes;
    this.actorInactive = state.actorInactive;
    this.postHead = state.postHead;
    this.postLikes = state.postLikes;
    this.postAuthor = state.postAuthor;
    this.postFlags = state.postFlags;
    this.freeRows = state.freeRows;
    this.freeRowCount = state.freeRowCount;
    this.rowsUsed = state.rowsUsed;
    this.peakBytes = 0;
    this.noteMemory();
  }

  /** The graph as a compaction sees it. */
  private compactionHost(): CompactionHost {
    const graph = this;
    const { stamps } = this;
    return {
      get floorId() {
        return graph.floor;
      },
      get newestLikeId() {
        return graph.maxId;
      },
      get stampedThrough() {
        return stamps.stampedThrough;
      },
      forEachLikeInRange: (fromId, toId, visit) => graph.forEachLikeInRange(fromId, toId, visit),
      isFrozenLikeLive: (id) => stamps.timeIfLive(id) >= 0,
      stampThrough: (toId) => stamps.stamp(toId, graph.maxId, (id) => graph.slotTime(id)),
      listsOf: (direction) => (direction === BY_ACTOR ? graph.byActor : graph.byPost),
      installLists: (direction: Direction, lists) => {
        if (direction === BY_ACTOR) graph.byActor = lists;
        else graph.byPost = lists;
      },
      keyCount: (direction) => (direction === BY_ACTOR ? graph.actorHead.length : graph.rowsUsed),
      noteMemory: () => graph.noteMemory(),
    };
  }

  private noteMemory(): void {
    this.peakBytes = Math.max(this.peakBytes, this.memoryBytes());
  }

  /** The time in a like's slot; 0 (DEAD) when it is gone or there is no slot. */
  private slotTime(id: number): number {
    if (id <= this.floor || id < this.youngFrom || id > this.maxId) return DEAD;
    const chunk = this.chunks.get(chunkIndex(id));
    return chunk ? chunk.times[slotIndex(id) * I32_PER_SLOT + TIME]! : DEAD;
  }

  /** Unlikes or prunes a like in a slot; `actor` and `post`, when given, must be the slot's. */
  private removeYoung(id: number, actor?: number, post?: number): void {
    const chunk = this.chunks.get(chunkIndex(id));
    if (!chunk) return;
    const n = slotIndex(id) * I32_PER_SLOT;
    if (chunk.times[n + TIME] === DEAD) return;
    const slotActor = chunk.ints[n + ACTOR]!;
    const row = chunk.ints[n + POST_ROW]!;
    // A live like's post holds the row (rows are freed only once their likes are all gone).
    const slotPost = this.postRows.keyOf(row);
    if ((actor !== undefined && actor !== slotActor) || (post !== undefined && post !== slotPost)) {
      throw new Error(`removeLike ${id}: the like is actor ${slotActor} on post ${slotPost}, not actor ${actor} on post ${post}`);
    }
    chunk.times[n + TIME] = DEAD;
    // A like a compaction in progress has stamped is dead there too.
    this.stamps.kill(id);
    this.actorLikes[slotActor]!--;
    if (--this.postLikes[row]! === 0) this.releaseRow(slotPost, row);
    this.liveLikes--;
  }

  /** The post's row if the graph holds it: it has a row, and its newest like is above the floor. */
  private heldRow(post: number): number {
    const row = this.postRows.get(post);
    return row >= 0 && this.postHead[row]! > this.floor ? row : -1;
  }

  /** Frees the slot chunks that hold no id above both the floor and the frozen likes. */
  private freeSlotChunks(): void {
    const firstKept = chunkIndex(Math.max(this.floor, this.youngFrom - 1) + 1);
    this.chunks.dropBelow(firstKept);
    this.firstChunk = Math.max(this.firstChunk, firstKept);
  }

  private chunkFor(id: number): Chunk {
    const c = chunkIndex(id);
    let chunk = this.chunks.get(c);
    if (!chunk) {
      const buffer = new ArrayBuffer(CHUNK_SIZE * SLOT_BYTES);
      chunk = { links: new Float64Array(buffer), ints: new Int32Array(buffer), times: new Uint32Array(buffer) };
      this.chunks.set(c, chunk);
    }
    return chunk;
  }

  private ensureActor(actor: number): void {
    if (actor < this.actorHead.length) return;
    if (!(actor >= 0 && actor <= MAX_ACTOR_ID && Number.isInteger(actor))) {
      throw new RangeError(`like graph: actor id ${actor} is past ${MAX_ACTOR_ID}, the most its int32 arrays hold`);
    }
    const size = grow(this.actorHead.length, actor);
    this.actorHead = resized(this.actorHead, size);
    this.actorLikes = resized(this.actorLikes, size);
    this.actorInactive = resized(this.actorInactive, size);
  }

  /**
   * The post's row, taking a free one (or a new one) when the post is not held yet. A
   * row whose likes were all pruned starts afresh: nothing of its lists is live.
   */
  private rowOfNewLike(post: number, author: number, gone: boolean): number {
    const free = this.freeRowCount > 0 ? this.freeRows[this.freeRowCount - 1]! : this.rowsUsed;
    const row = this.postRows.getOrAdd(post, free);
    if (row !== free) {
      if (this.postHead[row]! <= this.floor) this.startRow(row, author, gone);
      return row;
    }
    if (this.freeRowCount > 0) this.freeRowCount--;
    else {
      this.rowsUsed++;
      if (row === this.postHead.length) this.growRows();
    }
    this.startRow(row, author, gone);
    return row;
  }

  private startRow(row: number, author: number, gone: boolean): void {
    this.postHead[row] = 0;
    this.postLikes[row] = 0;
    this.postAuthor[row] = author;
    this.postFlags[row] = gone ? POST_GONE : 0;
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

/** Throws unless the state's arrays fit together (a snapshot file can be damaged in ways its checksum misses). */
function checkGraphState(state: LikeGraphState): void {
  const fail = (what: string) => {
    throw new Error(`like graph state: ${what}`);
  };
  const actors = state.actorHead.length;
  if (actors === 0 || state.actorLikes.length !== actors || state.actorInactive.length !== actors) fail(`actor arrays of ${actors}, ${state.actorLikes.length}, ${state.actorInactive.length}`);
  const rows = state.postHead.length;
  for (const array of [state.postLikes, state.postAuthor, state.postFlags, state.freeRows]) {
    if (array.length !== rows) fail(`post row arrays of ${rows} and ${array.length}`);
  }
  if (rows === 0 || !(state.rowsUsed >= 0 && state.rowsUsed <= rows && state.freeRowCount >= 0 && state.freeRowCount <= state.rowsUsed)) {
    fail(`${state.rowsUsed} rows used, ${state.freeRowCount} free, of ${rows}`);
  }
  for (const { index, links } of state.slotChunks) {
    if (!(Number.isInteger(index) && index >= state.firstChunk) || links.length !== CHUNK_SIZE * F64_PER_SLOT) fail(`slot chunk ${index} of ${links.length} words`);
  }
  for (const lists of [state.byActor, state.byPost]) {
    if (lists && (lists.other.length !== lists.idOffset.length || lists.start[lists.keys] !== lists.other.length)) fail(`compacted lists of ${lists.other.length} entries`);
  }
  if (!(state.floor <= state.maxId && state.youngFrom >= 1 && state.liveLikes >= 0)) fail(`floor ${state.floor}, newest ${state.maxId}, young from ${state.youngFrom}`);
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
