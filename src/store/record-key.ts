import { isTid } from '../atproto/identifiers.js';
import type { AnyDb } from './database.js';

/**
 * How a like's record key is stored: a TID (13 base32-sortable characters, 64 bits) as
 * the signed 64-bit integer it encodes, any other key as its text. The column has no
 * type affinity, and an integer never equals a text, so one UNIQUE index deduplicates both.
 * Every valid TID string maps to exactly one integer and back (16 × 32^12 = 2^64).
 */
export type StoredRecordKey = bigint | string;

const ALPHABET = '234567abcdefghijklmnopqrstuvwxyz';
const DIGIT = new Map([...ALPHABET].map((char, value) => [char, value]));
/** The low 7 characters (35 bits) and the high 6 (29 bits), each exact in a double. */
const LOW_CHARS = 7;
const LOW_BITS = 35n;
const LOW_MASK = (1n << LOW_BITS) - 1n;

export function toStoredRecordKey(rkey: string): StoredRecordKey {
  if (!isTid(rkey)) return rkey;
  const split = rkey.length - LOW_CHARS;
  const high = digits(rkey, 0, split);
  const low = digits(rkey, split, rkey.length);
  return BigInt.asIntN(64, (BigInt(high) << LOW_BITS) | BigInt(low));
}

/** The record key as it came in; `stored` must be read with safe integers (it exceeds 2^53). */
export function fromStoredRecordKey(stored: StoredRecordKey | number): string {
  if (typeof stored === 'string') return stored;
  if (typeof stored === 'number') throw new Error(`record key ${stored} was read without safe integers`);
  const unsigned = BigInt.asUintN(64, stored);
  return chars(Number(unsigned >> LOW_BITS), 13 - LOW_CHARS) + chars(Number(unsigned & LOW_MASK), LOW_CHARS);
}

function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) value = value * 32 + DIGIT.get(text[i]!)!;
  return value;
}

function chars(value: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out = ALPHABET[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/**
 * Defines `record_key_text(rkey)` on a connection: a stored record key as it came in,
 * for queries that spell likes out (fingerprints, content comparisons).
 */
export function defineRecordKeyText(db: AnyDb): void {
  db.function('record_key_text', { deterministic: true, safeIntegers: true }, (stored: unknown) =>
    fromStoredRecordKey(stored as StoredRecordKey),
  );
}
