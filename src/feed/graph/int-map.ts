/**
 * A map from non-negative integer keys (any safe integer: database ids pass 2^31) to
 * int32 values, in two typed arrays: open addressing, linear probing, at most half full.
 * A key is held whole, as a float64: 12 bytes a place.
 *
 * Why not an array indexed by the key: the keys are database ids, which are never
 * reused, so such an array grows with every id ever seen. This one grows with the
 * entries it holds. Why not a Map: no object per entry, and no size limit (a Map
 * holds at most 2^24 entries).
 */
const EMPTY = -1;
const MIN_BITS = 4;
/** 2^32 / golden ratio: multiplicative (Fibonacci) hashing spreads sequential ids. */
const FIBONACCI = 0x9e3779b1;
/** Mixes a key's bits above 32 into its low word (any odd constant does). */
const HIGH_MIX = 0x85ebca6b;
const TWO_32 = 2 ** 32;

export interface IntMapState {
  keys: Float64Array;
  values: Int32Array;
  count: number;
}

export class IntMap {
  private keys!: Float64Array;
  private values!: Int32Array;
  private shift = 0;
  private mask = 0;
  private count = 0;

  constructor() {
    this.allocate(MIN_BITS);
  }

  get size(): number {
    return this.count;
  }

  /** The key's value, or -1 when the key is absent. */
  get(key: number): number {
    if (key < 0) return -1; // never a key (and -1 marks empty places)
    const { keys } = this;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const k = keys[i]!;
      if (k === key) return this.values[i]!;
      if (k === EMPTY) return -1;
    }
  }

  /** The key's value; when the key is absent, it is added with `value` first. */
  getOrAdd(key: number, value: number): number {
    const { keys } = this;
    let i = this.home(key);
    for (; keys[i] !== EMPTY; i = (i + 1) & this.mask) if (keys[i] === key) return this.values[i]!;
    if (!(key >= 0 && Number.isSafeInteger(key))) throw new RangeError(`IntMap key ${key}: not a non-negative safe integer`);
    keys[i] = key;
    this.values[i] = value;
    if (++this.count * 2 > keys.length) this.rehash(this.bits() + 1);
    return value;
  }

  /** Removes the key; true when it was there. */
  delete(key: number): boolean {
    if (key < 0) return false;
    const { keys, values, mask } = this;
    let hole = this.home(key);
    for (; keys[hole] !== key; hole = (hole + 1) & mask) if (keys[hole] === EMPTY) return false;
    // Backward shift: later entries of the probe run move up, so no tombstones pile up.
    for (let j = (hole + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      // An entry may fill the hole only if the hole lies between its home and it.
      if (((j - this.home(keys[j]!)) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j]!;
        values[hole] = values[j]!;
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    this.count--;
    return true;
  }

  /** The map's arrays as they are (no copy), for a snapshot of the graph. */
  exportState(): IntMapState {
    return { keys: this.keys, values: this.values, count: this.count };
  }

  /** Takes over arrays from exportState (a snapshot read back); their length must be a power of two. */
  restoreState(state: IntMapState): void {
    const bits = Math.log2(state.keys.length);
    if (!Number.isInteger(bits) || bits < MIN_BITS || state.values.length !== state.keys.length || !(state.count >= 0 && state.count * 2 <= state.keys.length)) {
      throw new Error(`IntMap state: ${state.keys.length} keys, ${state.values.length} values, count ${state.count}`);
    }
    this.keys = state.keys;
    this.values = state.values;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.count = state.count;
  }

  /** Empties the map, keeping its room. */
  clear(): void {
    this.keys.fill(EMPTY);
    this.count = 0;
  }

  bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  private home(key: number): number {
    // `>>> 0` keeps the low 32 bits of any safe integer; keys below 2^32 hash as they always did.
    const high = (key / TWO_32) | 0;
    return Math.imul((key >>> 0) ^ Math.imul(high, HIGH_MIX), FIBONACCI) >>> this.shift;
  }

  private bits(): number {
    return 32 - this.shift;
  }

  private allocate(bits: number): void {
    this.keys = new Float64Array(1 << bits).fill(EMPTY);
    this.values = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  private rehash(bits: number): void {
    const { keys, values } = this;
    this.allocate(bits);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === EMPTY) continue;
      let j = this.home(key);
      while (this.keys[j] !== EMPTY) j = (j + 1) & this.mask;
      this.keys[j] = key;
      this.values[j] = values[i]!;
    }
  }
}
