/**
 * The retention window's likes in memory, as typed arrays indexed by the database's
 * own ids. Each like is a slot numbered by its `likes.id`; slots live in chunks, so
 * appending is O(1) and pruning the oldest likes frees whole chunks.
 *
 * Two linked lists run through the slots, newest first: one per actor
 * (`prevByActor`) and one per post (`prevByPost`). Walking an actor's likes or a
 * post's likers touches only those slots. Like ids pass 2^31 within weeks at the
 * firehose rate, so the links are float64 (exact to 2^53): 28 bytes per like, plus
 * 13 per actor id and 17 per post id.
 */
const CHUNK_SIZE = 1 << 16;
/** A like whose slot time is 0 is gone (unliked or pruned). */
const DEAD = 0;

interface Chunk {
  actor: Int32Array;
  post: Int32Array;
  timeS: Uint32Array;
  prevByActor: Float64Array;
  prevByPost: Float64Array;
}

const chunkIndex = (id: number): number => Math.floor(id / CHUNK_SIZE);
// Not `id % CHUNK_SIZE`: on ids that are doubles, % is a slow fmod.
const slotIndex = (id: number): number => id - chunkIndex(id) * CHUNK_SIZE;

export const POST_GONE = 1;

export class LikeGraph {
  private chunks: Array<Chunk | undefined> = [];
  /** Likes with ids at or below this are gone (pruned). */
  private floorId = 0;
  private maxId = 0;
  private liveLikes = 0;

  private actorHead = new Float64Array(1024);
  private actorLikes = new Int32Array(1024);
  private actorInactive = new Uint8Array(1024);
  private postHead = new Float64Array(1024);
  private postLikes = new Int32Array(1024);
  private postAuthor = new Int32Array(1024);
  private postFlags = new Uint8Array(1024);

  get likeCount(): number {
    return this.liveLikes;
  }

  get newestLikeId(): number {
    return this.maxId;
  }

  /** Adds a like; ids must arrive in increasing order (the database's AUTOINCREMENT). */
  addLike(id: number, actor: number, post: number, timeS: number): void {
    if (id <= this.maxId) throw new Error(`like ${id} arrived after ${this.maxId}`);
    this.maxId = id;
    this.ensureActor(actor);
    this.ensurePost(post);
    const chunk = this.chunkFor(id);
    const i = slotIndex(id);
    chunk.actor[i] = actor;
    chunk.post[i] = post;
    chunk.timeS[i] = timeS;
    chunk.prevByActor[i] = this.actorHead[actor]!;
    chunk.prevByPost[i] = this.postHead[post]!;
    this.actorHead[actor] = id;
    this.postHead[post] = id;
    this.actorLikes[actor]!++;
    this.postLikes[post]!++;
    this.liveLikes++;
  }

  /** An unlike: the slot stays linked but is skipped from now on. */
  removeLike(id: number): void {
    const chunk = this.chunkOf(id);
    if (!chunk) return;
    const i = slotIndex(id);
    if (chunk.timeS[i] === DEAD) return;
    chunk.timeS[i] = DEAD;
    this.actorLikes[chunk.actor[i]!]!--;
    this.postLikes[chunk.post[i]!]!--;
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

  setPost(post: number, author: number, gone: boolean): void {
    this.ensurePost(post);
    this.ensureActor(author);
    this.postAuthor[post] = author;
    this.postFlags[post] = gone ? POST_GONE : 0;
  }

  markPostGone(post: number): void {
    this.ensurePost(post);
    this.postFlags[post] = POST_GONE;
  }

  setActorActive(actor: number, active: boolean): void {
    this.ensureActor(actor);
    this.actorInactive[actor] = active ? 0 : 1;
  }

  isActorActive(actor: number): boolean {
    return actor < this.actorInactive.length && this.actorInactive[actor] === 0;
  }

  isPostLive(post: number): boolean {
    return post < this.postFlags.length && this.postFlags[post] === 0 && this.isActorActive(this.postAuthor[post]!);
  }

  postAuthorOf(post: number): number {
    return post < this.postAuthor.length ? this.postAuthor[post]! : 0;
  }

  likesOfActor(actor: number): number {
    return actor < this.actorLikes.length ? this.actorLikes[actor]! : 0;
  }

  likesOfPost(post: number): number {
    return post < this.postLikes.length ? this.postLikes[post]! : 0;
  }

  /**
   * Calls `visit(post, timeS)` for an actor's live likes, newest first, until it returns
   * false or `maxLikes` were visited. Returns how many slots were touched (work done).
   */
  forEachLikeOfActor(actor: number, maxLikes: number, visit: (post: number, timeS: number) => boolean | void): number {
    return actor < this.actorHead.length ? this.walk(this.actorHead[actor]!, true, maxLikes, visit) : 0;
  }

  /** Calls `visit(actor, timeS)` for a post's live likers, newest first; as above. */
  forEachLikerOfPost(post: number, maxLikers: number, visit: (actor: number, timeS: number) => boolean | void): number {
    return post < this.postHead.length ? this.walk(this.postHead[post]!, false, maxLikers, visit) : 0;
  }

  /** One linked list from `head`: an actor's (giving posts) or a post's (giving actors). */
  private walk(head: number, byActor: boolean, max: number, visit: (other: number, timeS: number) => boolean | void): number {
    let touched = 0;
    let visited = 0;
    for (let id = head; id > this.floorId && visited < max; ) {
      const chunk = this.chunks[chunkIndex(id)]!;
      const i = slotIndex(id);
      touched++;
      const timeS = chunk.timeS[i]!;
      if (timeS !== DEAD) {
        visited++;
        if (visit(byActor ? chunk.post[i]! : chunk.actor[i]!, timeS) === false) break;
      }
      id = byActor ? chunk.prevByActor[i]! : chunk.prevByPost[i]!;
    }
    return touched;
  }

  /** Calls `visit(post, actor, timeS)` for every live like with id above `afterId`, oldest first. */
  forEachLikeSince(afterId: number, visit: (post: number, actor: number, timeS: number) => void): void {
    for (let id = Math.max(afterId, this.floorId) + 1; id <= this.maxId; id++) {
      const chunk = this.chunks[chunkIndex(id)];
      if (!chunk) continue;
      const i = slotIndex(id);
      const timeS = chunk.timeS[i]!;
      if (timeS !== DEAD) visit(chunk.post[i]!, chunk.actor[i]!, timeS);
    }
  }

  /** Bytes held by the typed arrays: the figure the memory target is about. */
  memoryBytes(): number {
    const chunkBytes = this.chunks.reduce((sum, c) => sum + (c ? CHUNK_SIZE * 28 : 0), 0);
    return chunkBytes + this.actorHead.length * 13 + this.postHead.length * 17;
  }

  private chunkOf(id: number): Chunk | undefined {
    return id > this.floorId && id <= this.maxId ? this.chunks[chunkIndex(id)] : undefined;
  }

  private chunkFor(id: number): Chunk {
    const c = chunkIndex(id);
    let chunk = this.chunks[c];
    if (!chunk) {
      chunk = {
        actor: new Int32Array(CHUNK_SIZE),
        post: new Int32Array(CHUNK_SIZE),
        timeS: new Uint32Array(CHUNK_SIZE),
        prevByActor: new Float64Array(CHUNK_SIZE),
        prevByPost: new Float64Array(CHUNK_SIZE),
      };
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

  private ensurePost(post: number): void {
    if (post < this.postHead.length) return;
    const size = grow(this.postHead.length, post);
    this.postHead = resized(this.postHead, size);
    this.postLikes = resized(this.postLikes, size);
    this.postAuthor = resized(this.postAuthor, size);
    this.postFlags = resized(this.postFlags, size);
  }
}

function grow(current: number, needed: number): number {
  let size = current;
  while (size <= needed) size *= 2;
  return size;
}

function resized<T extends Int32Array | Float64Array | Uint8Array>(array: T, size: number): T {
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array);
  return next;
}
