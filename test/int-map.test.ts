import { describe, expect, it } from 'vitest';
import { IntMap, NO_KEY } from '../src/feed/graph/int-map.js';
import { seeded } from '../testkit/random.js';

describe('IntMap', () => {
  it('agrees with a Map through random adds, deletes, lookups, growth and clears', () => {
    const random = seeded(17);
    const map = new IntMap();
    const model = new Map<number, number>();
    for (let op = 0; op < 200_000; op++) {
      // Few distinct keys, clustered: long probe runs that wrap around the table's end; and
      // database ids past 2^31 and 2^32, some equal to small keys in their low 32 bits.
      const kind = random();
      const small = Math.floor(random() * 300);
      const key = kind < 0.4 ? small : kind < 0.6 ? small + 2 ** 32 * (1 + Math.floor(random() * 3)) : Math.floor(random() * 2 ** 53);
      const roll = random();
      if (roll < 0.45) {
        const value = op;
        expect(map.getOrAdd(key, value)).toBe(model.get(key) ?? value);
        if (!model.has(key)) model.set(key, value);
      } else if (roll < 0.8) {
        expect(map.delete(key)).toBe(model.delete(key));
      } else if (roll < 0.99995) {
        expect(map.get(key)).toBe(model.get(key) ?? -1);
      } else {
        map.clear();
        model.clear();
      }
      expect(map.size).toBe(model.size);
    }
    for (const [key, value] of model) expect([map.get(key), map.keyOf(value)]).toEqual([value, key]);
  });

  it('never finds a negative key, and refuses to add one, a non-integer or one past the safe integers', () => {
    const map = new IntMap();
    map.getOrAdd(5, 0);
    expect(map.get(-1)).toBe(-1);
    expect(map.delete(-1)).toBe(false);
    expect(map.size).toBe(1);
    expect(() => map.getOrAdd(-1, 0)).toThrow(RangeError);
    expect(() => map.getOrAdd(1.5, 0)).toThrow(RangeError);
    expect(() => map.getOrAdd(2 ** 53, 0)).toThrow(RangeError);
    expect(map.size).toBe(1);
  });

  it('holds keys past 2^31 and 2^32 whole: keys alike in their low 32 bits stay apart', () => {
    const map = new IntMap();
    const keys = [7, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 7, 2 ** 32 + 7, 2 ** 33 + 7, 2 ** 53 - 1];
    keys.forEach((key, k) => map.getOrAdd(key, k));
    expect(keys.map((key) => map.get(key))).toEqual(keys.map((_, k) => k));
    expect(map.delete(2 ** 32 + 7)).toBe(true);
    expect([map.get(7), map.get(2 ** 32 + 7), map.get(2 ** 33 + 7)]).toEqual([0, -1, 5]);
  });

  it('grows with the entries it holds, not with the keys: values are dense, and free again once their key goes', () => {
    const map = new IntMap();
    for (let k = 0; k < 100_000; k++) {
      if (k >= 1000) map.delete(2_000_000_000 - (k - 1000)); // at most 1,000 held at once
      map.getOrAdd(2_000_000_000 - k, k % 1000);
    }
    expect(map.size).toBe(1000);
    expect([map.keyOf(5), map.keyOf(1000)]).toEqual([2_000_000_000 - 99_005, NO_KEY]);
    // 2,048 places of 4 bytes, and 1,024 keys of 8.
    expect(map.bytes()).toBe(2048 * 4 + 1024 * 8);
  });

  it('refuses a value another key holds', () => {
    const map = new IntMap();
    map.getOrAdd(10, 3);
    expect(() => map.getOrAdd(11, 3)).toThrow(/value 3 is held by key 10/);
    expect([map.get(10), map.get(11), map.size]).toEqual([3, -1, 1]);
  });
});
