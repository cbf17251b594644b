import { describe, expect, it } from 'vitest';
import { EventLoopLag } from '../src/feed/event-loop-lag.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EventLoopLag', () => {
  it('reads an idle loop as no lag (not the 10 ms timer period it measures with), and a loop kept busy as its wait', async () => {
    const lag = new EventLoopLag();
    lag.start();
    try {
      // The lowest of three one-second readings: one late timer on a busy machine may lift one.
      const idle: number[] = [];
      for (let i = 0; i < 3; i++) {
        await sleep(1050);
        idle.push(lag.ms);
      }
      expect(Math.min(...idle)).toBeLessThan(5);

      // The loop busy for 30 ms at a time, for 1.5 s: every timer comes about 30 ms late.
      let highest = 0;
      const busyUntil = performance.now() + 1500;
      while (performance.now() < busyUntil) {
        const sliceEnd = performance.now() + 30;
        while (performance.now() < sliceEnd);
        await new Promise((resolve) => setImmediate(resolve));
        highest = Math.max(highest, lag.ms);
      }
      expect(highest).toBeGreaterThan(15);
    } finally {
      lag.stop();
    }
  });
});
