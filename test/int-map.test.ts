import { describe, expect, it } from 'vitest';
import { IntMap } from '../src/feed/graph/int-map.js';
import { seeded } from '../testkit/random.js';

describe('IntMap', () => {
  it('agrees with a Map through random adds, deletes, lookups, growth and clears', () => {
    const random = seeded(17);
    const map = new IntMap();
    const model = new Map<number, number>();
    for (let op = 0; op < 200_000; op++) {
      // Few distinct keys, clustered: long probe runs that wrap around the table's end.
      const key = random() < 0.5 ? Math.floor(random() * 300) : Math.floor(random() * 2 ** 31);
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
    for (const [key, value] of model) expect(map.get(key)).toBe(value);
  });

  it('never finds a negative key, and refuses to add one or a non-integer', () => {
    const map = new IntMap();
    map.getOrAdd(5, 0);
    expect(map.get(-1)).toBe(-1);
    expect(map.delete(-1)).toBe(false);
    expect(map.size).toBe(1);
    expect(() => map.getOrAdd(-1, 0)).toThrow(RangeError);
    expect(() => map.getOrAdd(1.5, 0)).toThrow(RangeError);
    expect(() => map.getOrAdd(2 ** 31, 0)).toThrow(RangeError);
    expect(map.size).toBe(1);
  });

  it('grows with the entries it holds, not with the keys', () => {
    const map = new IntMap();
    for (let k = 0; k < 100_000; k++) {
      map.getOrAdd(2_000_000_000 - k, k);
      if (k >= 1000) map.delete(2_000_000_000 - (k - 1000)); // at most 1,000 held at once
    }
    expect(map.size).toBe(1000);
    expect(map.bytes()).toBeLessThanOrEqual(4096 * 8);
  });
});
