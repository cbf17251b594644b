import { hash32 } from '../random.js';
import { US_PER_MS } from '../time/units.js';
import { ASCII_ZERO, asciiBytes, LineWriter } from './line-writer.js';

/**
 * The encodings of atproto identifiers: did:plc DIDs, TIDs (record keys and revisions), CIDs and
 * RFC 3339 timestamps. DIDs, clock ids and post CIDs are hashes of an index, so every mention
 * of a user or post agrees without storing it.
 */

const BASE32 = asciiBytes('abcdefghijklmnopqrstuvwxyz234567');
const BASE32_SORTABLE = asciiBytes('234567abcdefghijklmnopqrstuvwxyz');
export const DID_BODY_CHARS = 24;
const TWO_POW_30 = 2 ** 30;
/** Hash lanes per user: 0 to 3 make the DID, then the TID clock id. */
const DID_LANES = 4;
const CLOCK_ID_LANE = 4;
/** Hash lanes per post: the 9 words of its CID. */
const CID_WORDS = 9;
const POST_CID_FIRST_LANE = 16;

/** The 24 base32 characters after "did:plc:" of every user, back to back. */
export function didBodies(seed: number, users: number): Uint8Array {
  const out = new LineWriter(users * DID_BODY_CHARS);
  for (let user = 0; user < users; user++) {
    for (let lane = 0; lane < DID_LANES; lane++) out.base32(hash32(seed, user, lane), 6, BASE32);
  }
  return out.takeBytes();
}

/** Each user's 10-bit TID clock id. */
export function clockIds(seed: number, users: number): Uint16Array {
  return Uint16Array.from({ length: users }, (_, user) => hash32(seed, user, CLOCK_ID_LANE) & 1023);
}

/** A TID: 53 bits of microseconds then 10 bits of clock id, base32-sortable, 13 characters. */
export function writeTid(out: LineWriter, micros: number, clockId: number): void {
  const high = Math.floor(micros / TWO_POW_30);
  out.base32(high, 5, BASE32_SORTABLE);
  out.base32(micros - high * TWO_POW_30, 6, BASE32_SORTABLE);
  out.base32(clockId, 2, BASE32_SORTABLE);
}

/** Fills `words` with a post's CID words: a hash of its id, so every reference to it agrees. */
export function postCidWords(seed: number, post: number, words: Uint32Array): void {
  for (let i = 0; i < CID_WORDS; i++) words[i] = hash32(seed, post, POST_CID_FIRST_LANE + i);
}

/**
 * A CIDv1 (dag-cbor, sha-256) in base32 from 9 random words. The prefix "bafyrei" leaves
 * 3 digest bits for the next character, and the last one carries 3 bits then 2 zero bits.
 */
export function writeCid(out: LineWriter, words: Uint32Array): void {
  const first = words[0]!;
  out.ascii('bafyrei');
  out.byte(BASE32[first & 7]!);
  for (let i = 1; i < CID_WORDS; i++) out.base32(words[i]!, 6, BASE32);
  out.base32(first >>> 3, 2, BASE32);
  out.byte(BASE32[((first >>> 13) & 7) << 2]!);
}

/** RFC 3339 with milliseconds; the date-and-minute prefix is reused while the minute lasts. */
export class IsoClock {
  private minute = Number.NaN;
  private prefix: Uint8Array = new Uint8Array(0);

  write(out: LineWriter, micros: number): void {
    const ms = Math.floor(micros / US_PER_MS);
    const minute = Math.floor(ms / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.prefix = asciiBytes(new Date(minute * 60_000).toISOString().slice(0, 17));
    }
    out.copy(this.prefix, 0, this.prefix.length);
    const msOfMinute = ms - minute * 60_000;
    const second = Math.floor(msOfMinute / 1000);
    const milli = msOfMinute - second * 1000;
    out.byte(ASCII_ZERO + Math.floor(second / 10));
    out.byte(ASCII_ZERO + (second % 10));
    out.byte(46); // '.'
    out.byte(ASCII_ZERO + Math.floor(milli / 100));
    out.byte(ASCII_ZERO + (Math.floor(milli / 10) % 10));
    out.byte(ASCII_ZERO + (milli % 10));
    out.byte(90); // 'Z'
  }
}
