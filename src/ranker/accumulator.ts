/**
 * Sums of weights by integer id, dense: a ranking adds tens of thousands of
 * contributions, and a typed array beats a Map by an order of magnitude there.
 * Reused across rankings: `clear` costs only the ids touched, found through an
 * epoch stamp rather than a sweep.
 */
export class Accumulator {
  private sums = new Float64Array(1024);
  private stamps = new Uint32Array(1024);
  private epoch = 1;
  private touched = new Int32Array(1024);
  private count = 0;

  add(id: number, value: number): void {
    if (id >= this.sums.length) this.grow(id);
    if (this.stamps[id] !== this.epoch) {
      this.stamps[id] = this.epoch;
      this.sums[id] = 0;
      if (this.count === this.touched.length) this.touched = resized(this.touched, this.count * 2);
      this.touched[this.count++] = id;
    }
    this.sums[id]! += value;
  }

  get size(): number {
    return this.count;
  }

  /** The ids added since the last clear, in first-added order, and their sums. */
  idAt(index: number): number {
    return this.touched[index]!;
  }

  sumOf(id: number): number {
    return id < this.stamps.length && this.stamps[id] === this.epoch ? this.sums[id]! : 0;
  }

  clear(): void {
    this.count = 0;
    this.epoch++;
    if (this.epoch === 0xffffffff) {
      this.stamps.fill(0);
      this.epoch = 1;
    }
  }

  private grow(id: number): void {
    let size = this.sums.length;
    while (size <= id) size *= 2;
    this.sums = resized(this.sums, size);
    this.stamps = resized(this.stamps, size);
  }
}

function resized<T extends Float64Array | Uint32Array | Int32Array>(array: T, size: number): T {
  const next = new (array.constructor as new (n: number) => T)(size);
  next.set(array.subarray(0, Math.min(array.length, size)));
  return next;
}
