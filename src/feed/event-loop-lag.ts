import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** The histogram's timer period: every sample it takes is at least this long. */
const RESOLUTION_MS = 10;
const SAMPLE_EVERY_MS = 1000;

/**
 * How long requests currently wait for the event loop: the 99th percentile of the loop's
 * delay over the last second, beyond the timer period it is measured with. A loop that is
 * idle reads 0, not the 10 ms period (which, added to every ranking, once kept the governor
 * from ever seeing a quiet service as under 40 % of a 50 ms budget).
 */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private timer: NodeJS.Timeout | undefined;
  private lastMs = 0;

  get ms(): number {
    return this.lastMs;
  }

  start(): void {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.lastMs = Math.max(0, this.histogram.percentile(99) / 1e6 - RESOLUTION_MS);
      this.histogram.reset();
    }, SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}
