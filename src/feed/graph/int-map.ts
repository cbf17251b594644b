/**
 * A map from non-negative integer keys (any safe integer: database ids pass 2^31) to
 * dense int32 values (a post's row in the graph, an index in the ranker's sums), each
 * value held by one key at a time.
 *
 * Two typed arrays: the key of each value (float64, indexed by the value), and an open
 * addressing table (linear probing, at most half full) of values only, whose key is
 * looked up in the first. So a key is held whole, once, and a place in the table costs
 * 4 bytes: a post costs its 8-byte key and 2 to 4 places.
 *
 * Why not an array indexed by the key: the keys are database ids, which are never
 * reused, so such an array grows with every id ever seen. This one grows with the
 * entries it holds. Why not a Map: no object per entry, and no size limit (a Map
 * holds at most 2^24 entries).
 */
const EMPTY = -1;
/** The key of a value no key holds. */
export const NO_KEY = -1;
const MIN_BITS = 4;
/** 2^32 / golden ratio: multiplicative (Fibonacci) hashing spreads sequential ids. */
const FIBONACCI = 0x9e3779b1;
/** Mixes a key's bits above 32 into its low word (any odd constant does). */
const HIGH_MIX = 0x85ebca6b;
const TWO_32 = 2 ** 32;

export interface IntMapState {
  /** The table: values, EMPTY where free. */
  places: Int32Array;
  /** The key of each value; NO_KEY for a value not held. */
  keys: Float64Array;
  count: number;
}

export class IntMap {
  private places!: Int32Array;
  private keyOfValue: Float64Array = new Float64Array(1 << MIN_BITS).fill(NO_KEY);
  private shift = 0;
  private mask = 0;
  private count = 0;

  constructor() {
    this.allocate(MIN_BITS);
  }

  get size(): number {
    return this.count;
  }

  /** The key of each value, indexed by the value (NO_KEY: not held), for loops that turn many values into keys. */
  get keys(): Float64Array {
    return this.keyOfValue;
  }

  /** The key holding `value`, or NO_KEY. */
  keyOf(value: number): number {
    return value < this.keyOfValue.length ? this.keyOfValue[value]! : NO_KEY;
  }

  /** The key's value, or -1 when the key is absent. */
  get(key: number): number {
    if (key < 0) return -1; // never a key (and -1 marks free places)
    const { places, keyOfValue } = this;
    for (let i = this.home(key); ; i = (i + 1) & this.mask) {
      const value = places[i]!;
      if (value === EMPTY) return -1;
      if (keyOfValue[value] === key) return value;
    }
  }

  /** The key's value; when the key is absent, it is added with `value` (one no key holds) first. */
  getOrAdd(key: number, value: number): number {
    const { places, keyOfValue } = this;
    let i = this.home(key);
    for (; places[i] !== EMPTY; i = (i + 1) & this.mask) if (keyOfValue[places[i]!] === key) return places[i]!;
    if (!(key >= 0 && Number.isSafeInteger(key))) throw new RangeError(`IntMap key ${key}: not a non-negative safe integer`);
    if (!(value >= 0 && value <= 0x7fffffff && Number.isInteger(value))) throw new RangeError(`IntMap value ${value}: not a non-negative int32`);
    if (value < keyOfValue.length && keyOfValue[value] !== NO_KEY) throw new Error(`IntMap value ${value} is held by key ${keyOfValue[value]}, not free for ${key}`);
    this.holdKeys(value);
    places[i] = value;
    this.keyOfValue[value] = key;
    if (++this.count * 2 > places.length) this.rehash(this.bits() + 1);
    return value;
  }

  /** Removes the key (its value is free again); true when it was there. */
  delete(key: number): boolean {
    if (key < 0) return false;
    const { places, keyOfValue, mask } = this;
    let hole = this.home(key);
    for (; keyOfValue[places[hole]!] !== key; hole = (hole + 1) & mask) if (places[hole] === EMPTY) return false;
    keyOfValue[places[hole]!] = NO_KEY;
    // Backward shift: later entries of the probe run move up, so no tombstones pile up.
    for (let j = (hole + 1) & mask; places[j] !== EMPTY; j = (j + 1) & mask) {
      // An entry may fill the hole only if the hole lies between its home and it.
      if (((j - this.home(keyOfValue[places[j]!]!)) & mask) >= ((j - hole) & mask)) {
        places[hole] = places[j]!;
        hole = j;
      }
    }
    places[hole] = EMPTY;
    this.count--;
    return true;
  }

  /** The map's arrays as they are (no copy), for a snapshot of the graph. */
  exportState(): IntMapState {
    return { places: this.places, keys: this.keyOfValue, count: this.count };
  }

  /** Takes over arrays from exportState (a snapshot read back); the table's length must be a power of two. */
  restoreState(state: IntMapState): void {
    const bits = Math.log2(state.places.length);
    if (!Number.isInteger(bits) || bits < MIN_BITS || !(state.count >= 0 && state.count * 2 <= state.places.length)) {
      throw new Error(`IntMap state: ${state.places.length} places, count ${state.count}`);
    }
    for (const value of state.places) {
      if (value !== EMPTY && !(value >= 0 && value < state.keys.length && state.keys[value]! >= 0)) throw new Error(`IntMap state: value ${value} has no key`);
    }
    this.places = state.places;
    this.keyOfValue = state.keys;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.count = state.count;
  }

  /** Empties the map, keeping its room. */
  clear(): void {
    this.places.fill(EMPTY);
    this.keyOfValue.fill(NO_KEY);
    this.count = 0;
  }

  bytes(): number {
    return this.places.byteLength + this.keyOfValue.byteLength;
  }

  private home(key: number): number {
    // `>>> 0` keeps the low 32 bits of any safe integer; keys below 2^32 hash as they always did.
    const high = (key / TWO_32) | 0;
    return Math.imul((key >>> 0) ^ Math.imul(high, HIGH_MIX), FIBONACCI) >>> this.shift;
  }

  private bits(): number {
    return 32 - this.shift;
  }

  /** Room in keyOfValue for `value`, doubling. */
  private holdKeys(value: number): void {
    if (value < this.keyOfValue.length) return;
    let size = this.keyOfValue.length;
    while (size <= value) size *= 2;
    const next = new Float64Array(size).fill(NO_KEY);
    next.set(this.keyOfValue);
    this.keyOfValue = next;
  }

  private allocate(bits: number): void {
    this.places = new Int32Array(1 << bits).fill(EMPTY);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  private rehash(bits: number): void {
    const { places, keyOfValue } = this;
    this.allocate(bits);
    for (let i = 0; i < places.length; i++) {
      const value = places[i]!;
      if (value === EMPTY) continue;
      let j = this.home(keyOfValue[value]!);
      while (this.places[j] !== EMPTY) j = (j + 1) & this.mask;
      this.places[j] = value;
    }
  }
}
