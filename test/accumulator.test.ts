import { describe, expect, it } from 'vitest';
import { Accumulator } from '../src/feed/ranker/accumulator.js';
import { topK } from '../src/feed/ranker/kernel.js';

describe('Accumulator', () => {
  it('sums by id, forgets everything on clear, and grows for large ids', () => {
    const acc = new Accumulator();
    acc.add(3, 1.5);
    acc.add(3, 2);
    acc.add(5000, 1);
    expect(acc.size).toBe(2);
    expect([acc.idAt(0), acc.idAt(1)]).toEqual([3, 5000]);
    expect(acc.sumOf(3)).toBe(3.5);
    acc.clear();
    expect(acc.size).toBe(0);
    expect(acc.sumOf(3)).toBe(0);
    acc.add(3, 1);
    expect(acc.sumOf(3)).toBe(1);
  });

  it('holds room for the ids it sums, however large they are', () => {
    const acc = new Accumulator();
    acc.add(2_000_000_000, 1);
    acc.add(2_000_000_000, 2);
    expect([acc.size, acc.idAt(0), acc.sumAt(0), acc.sumOf(2_000_000_000)]).toEqual([1, 2_000_000_000, 3, 3]);
    expect(acc.bytes()).toBeLessThan(64 * 1024);
    for (let id = 0; id < 50_000; id++) acc.add(id * 40_000, 1);
    const grown = acc.bytes();
    acc.clear();
    for (let id = 0; id < 50_000; id++) acc.add(2_000_000_000 - id, 1);
    expect(acc.bytes()).toBe(grown); // reused, not regrown
  });

  it('counts an id once even when its first contribution is zero', () => {
    const acc = new Accumulator();
    acc.add(7, 0);
    acc.add(7, 0);
    expect(acc.size).toBe(1);
  });
});

describe('topK selection', () => {
  it('equals a full sort on random data, ties included', () => {
    let seed = 99;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(random() * 3000);
      const entries = Array.from({ length: n }, (_, i) => [i * 7 + 1, Math.floor(random() * 50) / 7] as const);
      const k = 1 + Math.floor(random() * n * 1.2);
      const expected = [...entries].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
      const got = topK(entries, k);
      expect(Array.from(got.ids)).toEqual(expected.map((e) => e[0]));
      expect(Array.from(got.weights)).toEqual(expected.map((e) => e[1]));
    }
  });
});
