import type { PresetName } from './params.js';

export interface GovernorOptions {
  /** Latency budget of a feed request; above it (at the 95th percentile) the cheap preset takes over. */
  budgetMs: number;
  /** Back to the default preset once the 95th percentile is under budget × this. */
  recoverRatio: number;
  /** Requests in the sliding window. */
  windowRequests: number;
  /**
   * The cheap preset stays at least this long before the default comes back, so the preset
   * does not flap. The switch to cheap never waits: an overload queues requests every second.
   */
  minCheapMs: number;
}

export const GOVERNOR_DEFAULTS: GovernorOptions = { budgetMs: 50, recoverRatio: 0.4, windowRequests: 200, minCheapMs: 15_000 };

/**
 * Chooses the ranker preset from recent request latency: under load the service
 * switches to `cheap` by itself and back when load drops.
 */
export class PresetGovernor {
  private preset: PresetName = 'default';
  private readonly samples: Float64Array;
  private count = 0;
  private lastSwitchMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: GovernorOptions,
    private readonly onSwitch: (to: PresetName) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.samples = new Float64Array(options.windowRequests);
  }

  get current(): PresetName {
    return this.preset;
  }

  record(latencyMs: number): void {
    this.samples[this.count % this.samples.length] = latencyMs;
    this.count++;
    // Re-decide every tenth of a window, once the window is full.
    if (this.count < this.samples.length || this.count % Math.ceil(this.samples.length / 10) !== 0) return;
    const p95 = percentile(this.samples, 0.95);
    const now = this.now();
    const next =
      this.preset === 'default' && p95 > this.options.budgetMs
        ? 'cheap'
        : this.preset === 'cheap' && p95 < this.options.budgetMs * this.options.recoverRatio && now - this.lastSwitchMs >= this.options.minCheapMs
          ? 'default'
          : this.preset;
    if (next === this.preset) return;
    this.preset = next;
    this.lastSwitchMs = now;
    this.onSwitch(next);
  }
}

function percentile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
