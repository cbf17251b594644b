import { describe, expect, it } from 'vitest';
import { fromStoredRecordKey, toStoredRecordKey } from '../src/store/record-key.js';

const ALPHABET = '234567abcdefghijklmnopqrstuvwxyz';

/** A TID from 64 random bits: the first character holds 4 of them, the others 5 each. */
function randomTid(random: () => number): string {
  let tid = ALPHABET[Math.floor(random() * 16)]!;
  for (let i = 1; i < 13; i++) tid += ALPHABET[Math.floor(random() * 32)]!;
  return tid;
}

function seeded(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('stored record keys', () => {
  it('stores a TID as one 64-bit integer and gives back the same text, over the whole range', () => {
    const random = seeded(7);
    const tids = ['2222222222222', 'jzzzzzzzzzzzz', '3jzfcijpj2z2a', '3n36oga6fqpwl', ...Array.from({ length: 2000 }, () => randomTid(random))];
    const stored = new Set<bigint>();
    for (const tid of tids) {
      const key = toStoredRecordKey(tid);
      expect(typeof key).toBe('bigint');
      expect(BigInt.asIntN(64, key as bigint)).toBe(key);
      expect(fromStoredRecordKey(key)).toBe(tid);
      stored.add(key as bigint);
    }
    expect(stored.size).toBe(new Set(tids).size);
    expect(toStoredRecordKey('2222222222222')).toBe(0n);
    expect(toStoredRecordKey('jzzzzzzzzzzzz')).toBe(-1n);
  });

  it('keeps any other record key as its text', () => {
    for (const rkey of ['self', 'l1', '3jzfcijpj2z2', 'kzzzzzzzzzzzz', '12345', 'a.b-c_d:e~f']) {
      expect(toStoredRecordKey(rkey)).toBe(rkey);
      expect(fromStoredRecordKey(rkey)).toBe(rkey);
    }
  });

  it('refuses an integer read without safe integers rather than spell a wrong key', () => {
    expect(() => fromStoredRecordKey(Number(toStoredRecordKey('3n36oga6fqpwl')))).toThrow(/safe integers/);
  });
});
