import { IntMap } from '../graph/int-map.js';

/**
 * Sums of weights by integer id: a ranking adds tens of thousands of contributions.
 * Each id gets a dense index (in first-added order) through an IntMap, so the room
 * held follows the largest ranking, not the largest id: ids are database ids, and
 * those only grow. Reused across rankings.
 */
export class Accumulator {
  /** Id → its index; and each index's id. */
  private readonly indexOf = new IntMap();
  private sums: Float64Array = new Float64Array(1024);
  private count = 0;

  add(id: number, value: number): void {
    const index = this.indexOf.getOrAdd(id, this.count);
    if (index < this.count) {
      this.sums[index]! += value;
      return;
    }
    if (index === this.sums.length) this.sums = resized(this.sums, index * 2);
    this.sums[index] = value;
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** The ids added since the last clear, in first-added order, and their sums. */
  idAt(index: number): number {
    return this.indexOf.keyOf(index);
  }

  sumAt(index: number): number {
    return this.sums[index]!;
  }

  sumOf(id: number): number {
    const index = this.indexOf.get(id);
    return index < 0 ? 0 : this.sums[index]!;
  }

  clear(): void {
    this.indexOf.clear();
    this.count = 0;
  }

  /** Bytes held: what the largest ranking since start needed. */
  bytes(): number {
    return this.indexOf.bytes() + this.sums.byteLength;
  }
}

function resized(array: Float64Array, size: number): Float64Array {
  const next = new Float64Array(size);
  next.set(array);
  return next;
}
