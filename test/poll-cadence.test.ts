import { describe, expect, it } from 'vitest';
import { PollCadence } from '../src/replication/follower/poll-cadence.js';

/** Polls against uploads every `period` ms at `uploadPhase`: returns each hit's delay after its upload. */
function simulate(cadence: PollCadence, period: number, uploadPhase: number, polls: number) {
  let now = 0;
  let nextUpload = uploadPhase;
  let pending = 0;
  const delays: number[] = [];
  let gets = 0;
  for (let i = 0; i < polls; i++) {
    while (nextUpload <= now) {
      pending += 1;
      nextUpload += period;
    }
    gets += 1;
    if (pending > 0) {
      pending -= 1;
      delays.push(now - (nextUpload - period * (pending + 1)));
      now += cadence.afterHit(pending > 0);
    } else {
      now += cadence.afterMiss();
    }
  }
  return { delays, gets };
}

describe('poll cadence', () => {
  it('settles just after the uploads, at few extra requests', () => {
    // The worst start: polls just before each upload, so every hit is a period late.
    const { delays, gets } = simulate(new PollCadence(1000), 1000, 999, 400);
    const settled = delays.slice(-100);
    expect(Math.max(...settled)).toBeLessThanOrEqual(150);
    expect(gets / delays.length).toBeLessThan(1.5); // requests per segment
  });

  it('drains a backlog at once, and backs off to a period when nothing comes', () => {
    const cadence = new PollCadence(1000);
    expect(cadence.afterHit(true)).toBe(0);
    const misses = Array.from({ length: 6 }, () => cadence.afterMiss());
    expect(misses.slice(0, 3).every((d) => d < 1000)).toBe(true);
    expect(misses.slice(3)).toEqual([1000, 1000, 1000]);
  });
});
