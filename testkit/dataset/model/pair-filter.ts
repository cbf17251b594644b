import { GOLDEN_RATIO_32, mix32 } from '../random.js';

const BITS_PER_PAIR = 16;
const WORDS_PER_BLOCK = 16;

/**
 * Who has liked (or reposted) what, in bounded memory: a blocked Bloom filter over
 * (user, post, salt). It never misses a pair it holds and rarely claims one it does not,
 * which costs a re-draw, never a duplicate like. One cache line a pair.
 */
export class PairFilter {
  private readonly words: Int32Array;
  private readonly blocks: number;

  constructor(expectedPairs: number) {
    this.blocks = Math.max(1, Math.ceil((expectedPairs * BITS_PER_PAIR) / (32 * WORDS_PER_BLOCK)));
    this.words = new Int32Array(this.blocks * WORDS_PER_BLOCK);
  }

  /** Adds the pair; false when it was (probably) there already. */
  addIfNew(user: number, post: number, salt: number): boolean {
    const h1 = mix32(Math.imul(user, GOLDEN_RATIO_32) ^ mix32(post ^ salt));
    const h2 = mix32(h1 ^ mix32(user + salt));
    const base = (h1 % this.blocks) * WORDS_PER_BLOCK;
    // `|`, not `||`: all four bits get set.
    const newBits = this.setBit(base, h2) | this.setBit(base, h2 >>> 9) | this.setBit(base, h2 >>> 18) | this.setBit(base, mix32(h2));
    return newBits !== 0;
  }

  /** Sets bit (`hash` mod 512) of the block at `base`; 1 when it was clear. */
  private setBit(base: number, hash: number): number {
    const word = base + ((hash >>> 5) & 15);
    const mask = 1 << (hash & 31);
    const wasClear = (this.words[word]! & mask) === 0 ? 1 : 0;
    this.words[word]! |= mask;
    return wasClear;
  }
}
