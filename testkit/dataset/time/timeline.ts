import type { Rng } from '../random.js';
import { US_PER_DAY, US_PER_HOUR, US_PER_MINUTE } from './units.js';

/**
 * When events happen: the stream's window, a diurnal activity curve, and schedules that place
 * an exact number of events along it.
 */

/** Posts start before the first like so early likes have something to choose from. */
export const POST_PRELUDE_US = 6 * US_PER_HOUR;
const POST_PRELUDE_MAX_WINDOW_SHARE = 0.25;

/** The diurnal curve of a fixed timezone: peak-to-trough ratio (1 + a) / (1 - a). */
export const DEFAULT_DIURNAL_AMPLITUDE = 0.5;
const DIURNAL_PEAK_HOUR_UTC = 20;

export interface StreamWindow {
  /** The first post; also the reference time of post weights. */
  originUs: number;
  /** The first like, repost and account event. */
  startUs: number;
  endUs: number;
}

export function streamWindow(days: number, endUs: number): StreamWindow {
  const windowUs = days * US_PER_DAY;
  const startUs = endUs - windowUs;
  const originUs = startUs - Math.min(POST_PRELUDE_US, windowUs * POST_PRELUDE_MAX_WINDOW_SHARE);
  return { originUs, startUs, endUs };
}

function activityAt(timeUs: number, amplitude: number): number {
  const hour = (timeUs / US_PER_HOUR) % 24;
  return 1 + amplitude * Math.cos((2 * Math.PI * (hour - DIURNAL_PEAK_HOUR_UTC)) / 24);
}

/** Maps times to the share of the window's activity before them, and back (per minute, linear). */
export class DiurnalTimeline {
  private readonly cumulative: Float64Array;

  constructor(
    private readonly startUs: number,
    private readonly endUs: number,
    private readonly amplitude = DEFAULT_DIURNAL_AMPLITUDE,
  ) {
    const minutes = Math.ceil((endUs - startUs) / US_PER_MINUTE);
    this.cumulative = new Float64Array(minutes + 1);
    for (let i = 0; i < minutes; i++) {
      const from = startUs + i * US_PER_MINUTE;
      const to = Math.min(endUs, from + US_PER_MINUTE);
      this.cumulative[i + 1] = this.cumulative[i]! + activityAt((from + to) / 2, amplitude) * (to - from);
    }
  }

  fractionAt(timeUs: number): number {
    const offset = Math.min(Math.max(timeUs, this.startUs), this.endUs) - this.startUs;
    const i = Math.min(Math.floor(offset / US_PER_MINUTE), this.cumulative.length - 2);
    const within = this.cumulative[i]! + activityAt(this.startUs + (i + 0.5) * US_PER_MINUTE, this.amplitude) * (offset - i * US_PER_MINUTE);
    return Math.min(1, within / this.cumulative[this.cumulative.length - 1]!);
  }

  timeAt(fraction: number): number {
    const target = fraction * this.cumulative[this.cumulative.length - 1]!;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (high - low > 1) {
      const middle = (low + high) >>> 1;
      if (this.cumulative[middle]! <= target) low = middle;
      else high = middle;
    }
    const from = this.startUs + low * US_PER_MINUTE;
    const span = this.cumulative[high]! - this.cumulative[low]!;
    const to = Math.min(this.endUs, from + US_PER_MINUTE);
    return span > 0 ? from + ((target - this.cumulative[low]!) / span) * (to - from) : from;
  }
}

/**
 * Exactly `count` event times between two times, ascending, spread like a Poisson process on
 * the diurnal curve: the next of k sorted uniforms above p is 1 - (1 - p) * U^(1/k).
 */
export class EventSchedule {
  nextUs = Number.POSITIVE_INFINITY;
  private position = 0;
  private readonly fromFraction: number;
  private readonly spanFraction: number;

  constructor(
    private remaining: number,
    private readonly rng: Rng,
    private readonly timeline: DiurnalTimeline,
    fromUs: number,
    toUs: number,
  ) {
    this.fromFraction = timeline.fractionAt(fromUs);
    this.spanFraction = timeline.fractionAt(toUs) - this.fromFraction;
    this.advance();
  }

  advance(): void {
    if (this.remaining === 0) {
      this.nextUs = Number.POSITIVE_INFINITY;
      return;
    }
    this.position = 1 - (1 - this.position) * this.rng.float() ** (1 / this.remaining);
    this.remaining--;
    this.nextUs = this.timeline.timeAt(this.fromFraction + this.spanFraction * this.position);
  }
}
