/**
 * Randomness: a seeded PRNG for draws, a hash for identifiers derived from an index, and the
 * two samplers the model draws users and posts with.
 */

/** 2^32 / φ: multiplying by it spreads consecutive integers across the 32 bits. */
export const GOLDEN_RATIO_32 = 0x9e3779b9;

/** murmur3's finalizer: a cheap, well-mixed 32-bit hash. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A hash of (key, index) per lane: the lanes give one index several independent words. */
export function hash32(key: number, index: number, lane: number): number {
  return mix32(mix32(key ^ Math.imul(lane + 1, GOLDEN_RATIO_32)) ^ index);
}

/** sfc32: 128-bit state, fast, and good enough statistics for synthetic data. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d = 1;

  constructor(seed: number) {
    this.a = hash32(seed, 0, 1);
    this.b = hash32(seed, 0, 2);
    this.c = hash32(seed, 0, 3);
    for (let i = 0; i < 16; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  pareto(alpha: number, cap: number): number {
    return Math.min(cap, (1 - this.float()) ** (-1 / alpha));
  }
}

export function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

/** Vose's alias method: O(1) draws from a fixed discrete distribution. */
export class AliasTable {
  private readonly threshold: Float64Array;
  private readonly alias: Uint32Array;

  constructor(weights: Float64Array) {
    const n = weights.length;
    this.threshold = new Float64Array(n);
    this.alias = new Uint32Array(n);
    const total = sum(weights);
    const scaled = weights.map((w) => (w * n) / total);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((p, i) => (p < 1 ? small : large).push(i));
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.threshold[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    // Leftovers are 1 up to rounding.
    for (const i of [...small, ...large]) this.threshold[i] = 1;
  }

  sample(rng: Rng): number {
    const i = rng.below(this.threshold.length);
    return rng.float() < this.threshold[i]! ? i : this.alias[i]!;
  }
}

/** Fenwick tree of weights over slots: point updates and weighted draws in O(log n). */
export class WeightedSlots {
  private readonly tree: Float64Array;
  private readonly topStep: number;
  private total = 0;

  constructor(readonly size: number) {
    this.tree = new Float64Array(size + 1);
    this.topStep = size === 0 ? 0 : 2 ** Math.floor(Math.log2(size));
  }

  add(slot: number, delta: number): void {
    this.total += delta;
    for (let i = slot + 1; i <= this.size; i += i & -i) this.tree[i]! += delta;
  }

  /** A slot drawn with probability ∝ its weight, or -1 while all are empty. */
  sample(rng: Rng): number {
    if (!(this.total > 0)) return -1;
    let remaining = rng.float() * this.total;
    let position = 0;
    for (let step = this.topStep; step > 0; step >>>= 1) {
      const next = position + step;
      if (next <= this.size && this.tree[next]! <= remaining) {
        position = next;
        remaining -= this.tree[next]!;
      }
    }
    return Math.min(position, this.size - 1);
  }
}
