const EMPTY = Buffer.alloc(0);

/** Bytes as they arrive in chunks, taken off the front in runs of a given length. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the first chunk not yet wholly taken: the array is trimmed now and then, not shifted per chunk. */
  private head = 0;
  /** Bytes of chunks[head] already taken. */
  private offset = 0;
  private queued = 0;
  private peak = 0;

  get length(): number {
    return this.queued;
  }

  /** The most bytes ever queued at once: what holding the input has cost at worst. */
  get peakLength(): number {
    return this.peak;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.queued += chunk.byteLength;
    this.peak = Math.max(this.peak, this.queued);
  }

  /** Drops the first `n` bytes (n <= length) without copying them. */
  skip(n: number): void {
    if (n > this.queued) throw new RangeError(`skip ${n} of ${this.queued} queued bytes`);
    this.queued -= n;
    while (n > 0) {
      const chunk = this.chunks[this.head]!;
      const count = Math.min(n, chunk.length - this.offset);
      this.advance(chunk, count);
      n -= count;
    }
  }

  /** The first `n` bytes (n <= length), removed: a view when one chunk holds them, else a copy. */
  take(n: number): Buffer {
    if (n > this.queued) throw new RangeError(`take ${n} of ${this.queued} queued bytes`);
    const first = this.chunks[this.head];
    if (n === 0 || !first) return Buffer.alloc(0);
    this.queued -= n;
    if (first.length - this.offset >= n) {
      const run = first.subarray(this.offset, this.offset + n);
      this.advance(first, n);
      return run;
    }
    const run = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head]!;
      const count = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(run, filled, this.offset, this.offset + count);
      filled += count;
      this.advance(chunk, count);
    }
    return run;
  }

  private advance(chunk: Buffer, count: number): void {
    this.offset += count;
    if (this.offset === chunk.length) {
      this.chunks[this.head] = EMPTY; // let the chunk go
      this.head += 1;
      this.offset = 0;
      // Many tiny chunks (a byte at a time) would make shifting quadratic: drop the taken ones in bulk.
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    }
  }
}
