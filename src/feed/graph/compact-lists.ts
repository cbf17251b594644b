/**
 * One direction of the like graph frozen into contiguous arrays: for each key (an
 * actor, or a post's row in the graph), the other side of its likes (the rows of its
 * posts, or likers), newest first, in `start[key] .. start[key + 1]`.
 *
 * Why: following the linked lists costs a dependent cache miss per like, and a
 * ranking follows ~50,000 of them. Read from here, a list is one sequential scan.
 *
 * An entry is 8 bytes: the other side (int32: a post's row, never its id, which can
 * pass 2^31) and the like's id as a uint32 offset from `idBase` (the graph's floor
 * when the lists were built). Its time and whether it is still live are in the
 * graph's stamps (like-stamps.ts). An entry whose id is at or below the graph's floor
 * is gone: pruned, or a hole (offset 0) left by a like removed while the lists were
 * being built.
 */
export class CompactLists {
  constructor(
    /** Every like up to here that was live when the lists were built is in them. */
    readonly throughId: number,
    readonly idBase: number,
    readonly start: Int32Array,
    readonly other: Int32Array,
    readonly idOffset: Uint32Array,
  ) {}

  get keys(): number {
    return this.start.length - 1;
  }

  /** Entries of `key` (live or not); 0 for a key past the lists. */
  lengthOf(key: number): number {
    return key < this.keys ? this.start[key + 1]! - this.start[key]! : 0;
  }

  bytes(): number {
    return this.start.byteLength + this.other.byteLength + this.idOffset.byteLength;
  }
}
