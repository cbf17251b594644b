/**
 * Reads a few numbers every interval in the background and keeps, per phase, their
 * peak and last value: what a scenario reports about a resource during a fault.
 */
import { repeatUntilStopped } from '../../../testkit/polling/repeat.js';

export type Reading = Record<string, number>;

export interface PeakSampler {
  /** Starts a new phase: peaks from here on are its own. */
  phase(name: string): void;
  /** Peak of each reading in a phase (undefined readings never sampled). */
  peaks(phase: string): Reading;
  last(): Reading;
  stop(): Promise<void>;
}

export function startPeakSampler(read: () => Promise<Reading | undefined>, intervalMs: number): PeakSampler {
  const byPhase = new Map<string, Reading>();
  let current = 'start';
  let last: Reading = {};

  const loop = repeatUntilStopped(async () => {
    const reading = await read().catch(() => undefined);
    if (reading) {
      last = reading;
      const peaks = byPhase.get(current) ?? {};
      for (const [name, value] of Object.entries(reading)) peaks[name] = Math.max(peaks[name] ?? -Infinity, value);
      byPhase.set(current, peaks);
    }
    return undefined; // kept per phase above, not as a series
  }, intervalMs);

  return {
    phase: (name) => {
      current = name;
    },
    peaks: (phase) => ({ ...(byPhase.get(phase) ?? {}) }),
    last: () => ({ ...last }),
    stop: async () => {
      await loop.stop();
    },
  };
}
