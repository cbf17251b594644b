/**
 * XXH32, the checksum of the LZ4 frame format (header, blocks and content), fed in
 * pieces: `update` as bytes arrive, `digest` once at the end.
 */
const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;
const STRIPE = 16;

export class Xxhash32 {
  private v1: number;
  private v2: number;
  private v3: number;
  private v4: number;
  private total = 0;
  /** Bytes short of a whole 16-byte stripe, kept for the next update or the digest. */
  private readonly pending = new Uint8Array(STRIPE);
  private pendingLength = 0;

  constructor(private readonly seed = 0) {
    this.v1 = (seed + PRIME1 + PRIME2) | 0;
    this.v2 = (seed + PRIME2) | 0;
    this.v3 = seed | 0;
    this.v4 = (seed - PRIME1) | 0;
  }

  update(bytes: Uint8Array): this {
    this.total += bytes.length;
    let at = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(STRIPE - this.pendingLength, bytes.length);
      this.pending.set(bytes.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      at = take;
      if (this.pendingLength < STRIPE) return this;
      this.stripes(this.pending, 0, STRIPE);
      this.pendingLength = 0;
    }
    const whole = at + Math.floor((bytes.length - at) / STRIPE) * STRIPE;
    this.stripes(bytes, at, whole);
    this.pending.set(bytes.subarray(whole), 0);
    this.pendingLength = bytes.length - whole;
    return this;
  }

  digest(): number {
    let h = this.total >= STRIPE ? rotl(this.v1, 1) + rotl(this.v2, 7) + rotl(this.v3, 12) + rotl(this.v4, 18) : this.seed + PRIME5;
    h = (h + this.total) | 0;
    const rest = this.pending;
    let at = 0;
    for (; at + 4 <= this.pendingLength; at += 4) h = Math.imul(rotl((h + Math.imul(word(rest, at), PRIME3)) | 0, 17), PRIME4);
    for (; at < this.pendingLength; at++) h = Math.imul(rotl((h + Math.imul(rest[at]!, PRIME5)) | 0, 11), PRIME1);
    h = Math.imul(h ^ (h >>> 15), PRIME2);
    h = Math.imul(h ^ (h >>> 13), PRIME3);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** The four lanes over bytes[from, to), a multiple of 16 bytes. */
  private stripes(bytes: Uint8Array, from: number, to: number): void {
    let { v1, v2, v3, v4 } = this;
    for (let at = from; at < to; at += STRIPE) {
      v1 = Math.imul(rotl((v1 + Math.imul(word(bytes, at), PRIME2)) | 0, 13), PRIME1);
      v2 = Math.imul(rotl((v2 + Math.imul(word(bytes, at + 4), PRIME2)) | 0, 13), PRIME1);
      v3 = Math.imul(rotl((v3 + Math.imul(word(bytes, at + 8), PRIME2)) | 0, 13), PRIME1);
      v4 = Math.imul(rotl((v4 + Math.imul(word(bytes, at + 12), PRIME2)) | 0, 13), PRIME1);
    }
    Object.assign(this, { v1, v2, v3, v4 });
  }
}

/** XXH32 of `bytes` in one piece. */
export function xxhash32(bytes: Uint8Array, seed = 0): number {
  return new Xxhash32(seed).update(bytes).digest();
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function word(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}
