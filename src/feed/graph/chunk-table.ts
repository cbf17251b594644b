/**
 * The chunks of a range of like ids (slots, stamps), by chunk number (id / chunk size),
 * in an array that starts at the lowest chunk held rather than at chunk 0.
 *
 * Why: like ids only grow (they pass 2^31 within weeks), so an array indexed by the
 * chunk number itself starts with a gap of every chunk ever freed. A write far past an
 * array's end turns V8's array into a dictionary, and every read of a like then does a
 * hash look-up; and past 2^48 ids the chunk numbers are no longer array indices at all.
 * Here the array spans the chunks of the window only.
 */
export class ChunkTable<T> {
  private items: Array<T | undefined> = [];
  /** The chunk number of items[0]. */
  private base = 0;
  private held = 0;

  /** The chunks held. */
  get count(): number {
    return this.held;
  }

  get(chunk: number): T | undefined {
    return this.items[chunk - this.base];
  }

  set(chunk: number, item: T): void {
    if (this.held === 0) {
      this.items = [];
      this.base = chunk;
    } else if (chunk < this.base) {
      this.items = [...new Array<T | undefined>(this.base - chunk), ...this.items];
      this.base = chunk;
    }
    // Filled up to the new place, so the array stays a packed list, never a sparse one.
    while (this.items.length < chunk - this.base) this.items.push(undefined);
    if (this.items[chunk - this.base] === undefined) this.held++;
    this.items[chunk - this.base] = item;
  }

  /** Drops every chunk below `chunk`. */
  dropBelow(chunk: number): void {
    const drop = Math.min(this.items.length, chunk - this.base);
    if (drop <= 0) return;
    for (let i = 0; i < drop; i++) if (this.items[i] !== undefined) this.held--;
    this.items = this.items.slice(drop);
    this.base += drop;
  }

  /** Each chunk held, by its number, lowest first. */
  forEach(visit: (item: T, chunk: number) => void): void {
    this.items.forEach((item, i) => {
      if (item !== undefined) visit(item, this.base + i);
    });
  }
}
